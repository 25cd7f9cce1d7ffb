// qr — a QR code drawn in the page as SVG (qrcode-generator, bundled in pki.js): no image is
// fetched and nothing leaves the page. One <path> of the dark modules, presentation attributes
// only (the CSP forbids inline styles), a quiet zone of 4 modules; the size comes from the style
// sheet (.qr). The text the code holds is the caller's: for a secret (the otpauth URI), the
// caller removes the element once it is no longer needed.

import { qrcode } from "./pki.js";

const SVG = "http://www.w3.org/2000/svg";
const QUIET = 4;

// An <svg role="img"> of text at error correction level M, named by label for screen readers.
export function qrSvg(text, label) {
  const qr = qrcode(0, "M");
  qr.addData(text, "Byte");
  qr.make();
  const n = qr.getModuleCount();
  const size = n + 2 * QUIET;
  let d = "";
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.isDark(r, c)) d += `M${c + QUIET} ${r + QUIET}h1v1h-1z`;
    }
  }
  const svg = document.createElementNS(SVG, "svg");
  for (const [k, v] of [["viewBox", `0 0 ${size} ${size}`], ["class", "qr"], ["role", "img"],
    ["aria-label", label], ["shape-rendering", "crispEdges"]]) svg.setAttribute(k, v);
  const bg = document.createElementNS(SVG, "rect");
  for (const [k, v] of [["width", size], ["height", size], ["fill", "#fff"]]) bg.setAttribute(k, v);
  const fg = document.createElementNS(SVG, "path");
  fg.setAttribute("d", d);
  fg.setAttribute("fill", "#000");
  svg.append(bg, fg);
  return svg;
}
