/*
 * drover config: shows, reads and sets the configuration file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "common/xmalloc.h"
#include "daemon/config.h"

static int
cmd_config_exec(int argc, char **argv)
{
	struct config c = CONFIG_INIT;
	char *err = NULL, *user;
	const char *sub = argc > 1 ? argv[1] : "show";
	int json = 0, rc = EXIT_OK, nargs = 0;
	const char *a[3] = { NULL, NULL, NULL };

	for (int k = 2; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			json = 1;
		else if (nargs < 3)
			a[nargs++] = argv[k];
		else
			return cmd_usage_error(&cmd_config_entry,
			    "too many arguments");
	}
	if (!strcmp(sub, "--json")) {
		sub = "show";
		json = 1;
	}
	if (strcmp(sub, "set") == 0 || strcmp(sub, "unset") == 0) {
		int set = sub[0] == 's';

		if (nargs != (set ? 2 : 1))
			return cmd_usage_error(&cmd_config_entry, set ?
			    "config set KEY VALUE" : "config unset KEY");
		if ((user = config_user_path()) == NULL) {
			fprintf(stderr, "drover config: no config directory "
			    "(set XDG_CONFIG_HOME or HOME)\n");
			return EXIT_SYSTEM;
		}
		if (config_set_file(user, a[0], set ? a[1] : NULL, &err) == -1) {
			fprintf(stderr, "drover config: %s\n", err);
			free(err);
			free(user);
			return EXIT_FAIL;
		}
		free(user);
		/* a running daemon picks it up now */
		{
			struct client cl = CLIENT_INIT;
			const char *code;
			json_t *r;

			if (client_open(&cl, 0, &err) == 0) {
				r = client_call(&cl, "reload", NULL, &err,
				    &code);
				json_decref(r);
			}
			free(err);
			client_close(&cl);
		}
		return EXIT_OK;
	}
	if (config_load(&c, &err) == -1) {
		fprintf(stderr, "drover config: %s\n", err);
		free(err);
		config_release(&c);
		return EXIT_FAIL;
	}
	if (strcmp(sub, "get") == 0) {
		const char *v;

		if (nargs != 1) {
			config_release(&c);
			return cmd_usage_error(&cmd_config_entry,
			    "config get KEY");
		}
		v = config_get(&c, a[0]);
		if (v == NULL && config_check(a[0], "0", &err) == -1) {
			fprintf(stderr, "drover config: %s\n", err);
			free(err);
			rc = EXIT_FAIL;
		} else if (v == NULL)
			rc = EXIT_FAIL;		/* known but unset, no default */
		else
			printf("%s\n", v);
	} else if (strcmp(sub, "show") == 0) {
		json_t *o = json_object();

		for (size_t i = 0; config_keys[i].name; i++) {
			const char *v = config_get(&c, config_keys[i].name);

			if (json)
				json_object_set_new(o, config_keys[i].name,
				    v ? json_string(v) : json_null());
			else
				printf("%s = %s\n", config_keys[i].name,
				    v ? v : "(computed)");
		}
		for (size_t i = 0; i < c.n; i++) {
			if (strncmp(c.v[i].key, "capabilities.", 13))
				continue;
			if (json)
				json_object_set_new(o, c.v[i].key,
				    json_string(c.v[i].value));
			else
				printf("%s = %s\n", c.v[i].key, c.v[i].value);
		}
		if (json)
			client_print_json(stdout, o);
		json_decref(o);
	} else if (strcmp(sub, "path") == 0) {
		char *sys = config_system_path();

		user = config_user_path();
		printf("%s\n%s\n", sys, user ? user : "");
		free(sys);
		free(user);
	} else {
		config_release(&c);
		return cmd_usage_error(&cmd_config_entry,
		    "unknown subcommand '%s'", sub);
	}
	config_release(&c);
	return rc;
}

const struct cmd_entry cmd_config_entry = {
	"config",
	"show or change the configuration",
	"drover config [show [--json] | get KEY | set KEY VALUE | unset KEY | "
	"path]",
	"DESCRIPTION\n"
	"    The configuration is an INI file: /etc/drover/config, then\n"
	"    $XDG_CONFIG_HOME/drover/config (else ~/.config/drover/config); a\n"
	"    key in the later file wins, and command-line flags win over both.\n"
	"    docs/config.md describes every key.\n"
	"\n"
	"    show     every key with its value (or default)\n"
	"    get KEY  one value, e.g. 'drover config get daemon.slots'\n"
	"    set KEY VALUE\n"
	"             writes the user file (a temporary file renamed over the\n"
	"             old one, so it is never half written) and tells a running\n"
	"             daemon to reload it\n"
	"    unset KEY\n"
	"             removes the key from the user file\n"
	"    path     the two file paths\n"
	"\n"
	"    Keys: daemon.slots, daemon.max_tasks_per_session, daemon.log_level,\n"
	"    daemon.min_free_space, daemon.task_log_max, daemon.auto_migrate,\n"
	"    daemon.notify_limit, jobs.priority, jobs.on_error, jobs.max_retries,\n"
	"    jobs.on_complete, and capabilities.amount.NAME /\n"
	"    capabilities.attr.NAME for host capabilities.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 done, 1 unknown key, bad value or unreadable file, 2 usage\n"
	"    error, 3 no configuration directory.\n",
	.exec = cmd_config_exec,
};
