/*
 * renraku init [--gen-key] [--name NAME] [--from ADDR] [--force]
 *
 * Writes the config file (--config as given, else $RENRAKU_CONFIG, else
 * ./renraku.conf) when it is missing (or with --force), creates or
 * migrates the database, and with --gen-key makes the relay's signing key
 * in [gpg] home and writes its public half next to the config as
 * signing-key.asc.  A home that holds a secret key already is left alone.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "renraku/mail.h"

#define INIT_USAGE "init [--gen-key] [--name NAME] [--from ADDR] [--force]"

static const char init_help[] =
	"usage: renraku [--config FILE] [--db FILE] " INIT_USAGE "\n"
	"\n"
	"Create the configuration (--config, else $RENRAKU_CONFIG, else\n"
	"./renraku.conf) when it is missing, and create or migrate the database.\n"
	"The database is created mode 0600, the GnuPG home 0700.\n"
	"\n"
	"  --gen-key      make the relay's signing key in [gpg] home and write its\n"
	"                 public half next to the config as signing-key.asc\n"
	"  --name NAME    the relay's name ([relay] name, and the key's user id)\n"
	"  --from ADDR    the address notices come from ([relay] from)\n"
	"  --force        rewrite an existing configuration file\n"
	"  --help         this text\n";

struct init_opts {
	bool gen_key;
	bool force;
	bool help;
	const char *name;
	const char *from;
};

/* The address notices come from: --from, else the config's, else
 * renraku@<this host> when the host name is a domain. */
static enum rk_err pick_from(const struct app *app, const char *given,
			     char **out)
{
	char host[256];

	*out = NULL;
	if (given)
		*out = rk_email_valid(given) ? rk_strdup(given) : NULL;
	else if (rk_email_valid(app->cfg.relay.from))
		*out = rk_strdup(app->cfg.relay.from);
	else if (gethostname(host, sizeof(host)) == 0) {
		char addr[300];

		host[sizeof(host) - 1] = '\0';
		snprintf(addr, sizeof(addr), "renraku@%s", host);
		if (rk_email_valid(addr))
			*out = rk_strdup(addr);
	}
	return *out ? RK_OK : RK_ERR_INVAL;
}

static enum rk_err write_config(struct app *app, const char *path,
				const char *name, const char *from)
{
	enum rk_err err;

	if ((err = rk_config_write_template(path, name, from)))
		return rk_fail(&app->log, err, "cannot write config '%s': %s",
			       path, rk_strerror(err));
	rk_config_release(&app->cfg);
	if ((err = rk_config_defaults(&app->cfg)) ||
	    (err = rk_config_load(&app->cfg, path, &app->log)))
		return err;
	free(app->config_path);
	app->config_path = rk_strdup(path);
	app->config_loaded = app->config_path != NULL;
	return app->config_path ? RK_OK : RK_ERR_NOMEM;
}

static enum rk_err gen_key(struct app *app, const char *name,
			   const char *from)
{
	struct rk_buf pub;
	char *home = NULL, *key_path = NULL, fpr[41];
	size_t nkeys = 0;
	enum rk_err err;

	rk_buf_init(&pub, 1u << 20);
	if ((err = rk_config_path(&app->cfg, app->cfg.gpg.home, &home)) ||
	    (err = mail_secret_keys(home, fpr, &nkeys, &app->log)))
		goto cleanup;
	if (nkeys) {
		printf("signing key: %s (in %s)\n", fpr, home);
		err = rk_fail(&app->log, RK_ERR_EXISTS,
			      "'%s' holds a secret key already (%s%s): not "
			      "making another",
			      home, fpr, nkeys > 1 ? " and others" : "");
		goto cleanup;
	}
	if ((err = mail_gen_key(home, name, from, fpr, &app->log)))
		goto cleanup;
	printf("signing key: %s (new, in %s)\n", fpr, home);
	if ((err = mail_export_key(home, fpr, &pub, &app->log)) ||
	    (err = rk_config_path(&app->cfg, "signing-key.asc", &key_path)))
		goto cleanup;
	if ((err = rk_write_file_atomic(key_path, pub.data, pub.len, 0644))) {
		err = rk_fail(&app->log, err, "cannot write '%s'", key_path);
		goto cleanup;
	}
	printf("public key: %s (publish it: recipients verify notices "
	       "with it)\n",
	       key_path);
cleanup:
	free(home);
	free(key_path);
	rk_buf_release(&pub);
	return err;
}

/* Without --gen-key: say so when signing is on and there is no key. */
static void hint_key(struct app *app)
{
	char *home = NULL, fpr[41];
	size_t n = 0;

	if (app->cfg.gpg.mode == RK_SIGN_NONE ||
	    rk_config_path(&app->cfg, app->cfg.gpg.home, &home) != RK_OK)
		return;
	if (mail_secret_keys(home, fpr, &n, &app->log) == RK_OK) {
		if (n)
			printf("signing key: %s (in %s)\n", fpr, home);
		else
			rk_log_warn(&app->log,
				    "no signing key in '%s' yet: run 'renraku "
				    "init --gen-key' (or set [gpg] mode = none)",
				    home);
	}
	free(home);
}

static int parse_opts(int argc, char **argv, struct init_opts *o)
{
	static const struct option opts[] = {
		{"gen-key", no_argument, NULL, 'g'},
		{"name", required_argument, NULL, 'n'},
		{"from", required_argument, NULL, 'f'},
		{"force", no_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'g': o->gen_key = true; break;
		case 'n': o->name = optarg; break;
		case 'f': o->from = optarg; break;
		case 'F': o->force = true; break;
		case 'h': o->help = true; return RK_EXIT_OK;
		default: return app_usage(INIT_USAGE);
		}
	}
	if (optind < argc)
		return app_usage(INIT_USAGE);
	if (o->name && (!*o->name || rk_str_has_ctl(o->name, false) ||
			!rk_utf8_valid(o->name, strlen(o->name))))
		return app_usage("init: --name must be one line of UTF-8 text");
	return RK_EXIT_OK;
}

int cmd_init(struct app *app, int argc, char **argv)
{
	struct init_opts o;
	struct rk_store *store;
	const char *path = app->config_arg;
	char *from = NULL, *name = NULL, *db = NULL;
	bool exists;
	enum rk_err err = RK_OK;
	int rc;

	if ((rc = parse_opts(argc, argv, &o)) != RK_EXIT_OK)
		return rc;
	if (o.help)
		return app_help(init_help);
	if (!path || !*path)
		path = getenv("RENRAKU_CONFIG");
	if (!path || !*path)
		path = "renraku.conf";
	exists = access(path, F_OK) == 0;
	if (exists) {
		app->config_arg = path;
		if ((err = app_config(app)))
			goto fail;
	}
	if (pick_from(app, o.from, &from) != RK_OK) {
		rc = app_usage("init: --from ADDR is needed: the address notices "
			       "come from (%s is not one)",
			       o.from ? o.from : app->cfg.relay.from);
		goto cleanup;
	}
	if (!(name = rk_strdup(o.name ? o.name : app->cfg.relay.name))) {
		err = RK_ERR_NOMEM;
		goto fail;
	}
	if (!exists || o.force) {
		if ((err = write_config(app, path, name, from)))
			goto fail;
		printf("config: %s (%s)\n", path, exists ? "rewritten" : "written");
	} else {
		if (o.name || o.from)
			rk_log_warn(&app->log,
				    "config '%s' exists: --name/--from only name "
				    "the key (--force rewrites the config)",
				    path);
		printf("config: %s (exists, kept)\n", path);
	}
	app->create_db = true;
	if ((err = app_store(app, &store)) || (err = app_db_path(app, &db)))
		goto fail;
	printf("database: %s (schema version %d)\n", db,
	       store_schema_version());
	if (o.gen_key)
		err = gen_key(app, name, from);
	else
		hint_key(app);
fail:
	rc = err ? (int)rk_exit_code(err) : RK_EXIT_OK;
cleanup:
	free(from);
	free(name);
	free(db);
	return rc;
}
