/*
 * cf_policy — the password rules of spec/protocol.md §16.3, shared by the agent (key passwords,
 * envelope passphrases) and the server (envelope passphrases, later login passwords).
 */
#ifndef CF_POLICY_H
#define CF_POLICY_H

/* The password policy of the seeds: at least 8 characters (at most 128), an upper-case and a
 * lower-case letter, a digit, a special character (ASCII punctuation or space), and no more than
 * two identical characters in a row. 0, or CF_EWEAKPASSWORD and a static reason ("needs a
 * digit") in *why. */
int cf_password_check(const char *password, const char **why);

#endif
