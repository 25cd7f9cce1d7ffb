// view-remote-routes — the screens of a remote signing certificate's holder (seeds 002–004,
// spec/protocol.md §23–§24), one location fragment each; main.js adds them to its routes.

import * as login from "./view-remote-login.js";
import * as password from "./view-remote-password.js";
import * as dashboard from "./view-remote.js";
import * as pin from "./view-remote-pin.js";
import * as forgot from "./view-remote-forgot.js";
import * as renew from "./view-remote-renew.js";
import * as update from "./view-remote-update.js";
import * as totp from "./view-remote-totp.js";
import * as sign from "./view-remote-sign.js";

export const remoteRoutes = {
  "remote-login": login,
  login, // the mails' "Portal: …/#/login" link
  "remote-password": password,
  remote: dashboard,
  "remote-logout": { render: dashboard.logout },
  "remote-activate": { render: (ctx) => pin.render(ctx, "remote-activate") },
  "remote-unblock": { render: (ctx) => pin.render(ctx, "remote-unblock") },
  "remote-pin": { render: (ctx) => pin.render(ctx, "remote-pin") },
  "remote-renew": renew,
  "remote-update": update,
  "remote-totp": totp,
  "remote-sign": sign,
  "remote-forgot": forgot,
  "remote-reset": { render: forgot.reset },
};
