/*
 * cf_qr — QR codes (libqrencode inside) as UTF-8 half blocks for a terminal and as SVG.
 * Level M, 4-module quiet zone. Input is public data only (URLs, reference numbers).
 */
#ifndef CF_QR_H
#define CF_QR_H

/* UTF-8 text (malloc'd, caller frees) that draws the code in a terminal, two rows per line. */
int cf_qr_utf8(const char *text, char **out);
/* A standalone SVG document (malloc'd) with one <path>; module size px pixels. */
int cf_qr_svg(const char *text, int px, char **out);

#endif
