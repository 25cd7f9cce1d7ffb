// main — the portal's start: texts in the chosen language, the directory, then one screen per
// location fragment (#/apply, ...). Everything the page needs comes from this origin; secrets
// stay in the page's memory and leave it only inside signed requests.

import { Client } from "./api.js";
import { preferred, setLanguage, language, t } from "./i18n.js";
import { h, screen } from "./ui.js";
import { describe } from "./errors.js";
import * as home from "./view-home.js";
import * as apply from "./view-apply.js";
import * as recover from "./view-recover.js";
import * as emergency from "./view-emergency.js";
import * as reference from "./view-reference.js";
import * as activate from "./view-activate.js";
import { remoteRoutes } from "./view-remote-routes.js";
import * as recovery from "./view-recovery.js";

const routes = { "": home, apply, recover, emergency, reference, activate };
Object.assign(routes, remoteRoutes);
routes.recovery = recovery; // the recovery mail's link: #/recovery/<token>
const ctx = { client: new Client() };

function route() {
  const name = location.hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return routes[name] ? name : "";
}

function show() {
  routes[route()].render(ctx);
}

function chrome() {
  document.getElementById("skip").textContent = t("common.skip");
  document.getElementById("brand").textContent = t("common.brand");
  document.getElementById("lang-label").textContent = t("common.language");
  document.getElementById("lang").value = language();
  document.getElementById("footer").textContent = t("common.footer");
}

async function start() {
  await setLanguage(preferred(), false);
  chrome();
  try {
    await ctx.client.directory();
  } catch (e) {
    screen(t("common.unavailable"), h("p", { role: "alert", text: describe(e, "start") }));
    return;
  }
  document.getElementById("lang").addEventListener("change", async (ev) => {
    await setLanguage(ev.target.value, true);
    chrome();
    show(); // the screen again in the new language (what was typed is not kept)
  });
  window.addEventListener("hashchange", show);
  show();
}

start();
