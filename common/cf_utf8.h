/*
 * cf_utf8 — strict UTF-8 decoding (RFC 3629) for the code that counts or compares characters
 * (the password policy, normalised answers). Never accepts overlong forms, surrogates or code
 * points above U+10FFFF.
 */
#ifndef CF_UTF8_H
#define CF_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The code point of the UTF-8 character at *p, advancing *p past it; -1 (and *p unchanged) if
 * the octets there are not a well-formed character. A NUL octet decodes as 0. */
int32_t cf_utf8_next(const char **p);

/* Length (1..4) of the well-formed character at p, reading at most n octets (for buffers that
 * need not end in NUL); 0 if the octets there are not one. */
size_t cf_utf8_len(const void *p, size_t n);

#endif
