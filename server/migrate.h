/*
 * migrate — `certflowd migrate --from STORE --to STORE` (spec/cli.md): every record of one store
 * into an empty other one (LMDB to PostgreSQL, or back), checked by counts and digests per table.
 */
#ifndef MIGRATE_H
#define MIGRATE_H

/* The subcommand: argv[1] is "migrate". Prints the tables' counts and digests on stdout; on
 * error one line on stderr. Returns the exit status: 0 copied and checked, 1 refused or failed
 * (nothing written unless the copy itself was committed and then failed its check), 2 usage. */
int migrate_main(int argc, char **argv);

#endif
