/*
 * fuzz_config.c — libFuzzer target for the configuration loader (src/config/).
 *
 * The input holds up to three parts separated by the line "----8<----":
 *   1. written as <tmp>/.dlt/config.toml
 *   2. written as <tmp>/.dlt/secrets.toml (mode 0600)
 *   3. environment lines NAME=VALUE, the environment pg2md_config_load reads
 *      (SOURCES__SQL_DATABASE__TABLES, LOAD__WORKERS, MOTHERDUCK_TOKEN, …)
 * A missing part means a missing file / an empty environment.
 *
 * pg2md_config_load must return OK or a filled error, never crash, read out of
 * bounds or leak; on success the resolved config is walked (connection
 * parameters, per-table dispositions, provenance) and freed.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "util/log.h"

static char project[64];
static char config_path[128], secrets_path[128];

static const char SEP[] = "\n----8<----\n";

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void
cleanup(void)
{
	if (project[0])
		nftw(project, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	char dlt[128];
	snprintf(project, sizeof(project), "/tmp/pg2md-fuzzcfg.XXXXXX");
	if (mkdtemp(project) == NULL)
		abort();
	snprintf(dlt, sizeof(dlt), "%s/.dlt", project);
	if (mkdir(dlt, 0700) != 0)
		abort();
	snprintf(config_path, sizeof(config_path), "%s/config.toml", dlt);
	snprintf(secrets_path, sizeof(secrets_path), "%s/secrets.toml", dlt);
	atexit(cleanup);
	/* Unknown keys are warnings on stderr: millions of them would drown the fuzzer's output. */
	pg2md_log_set_level(PG2MD_LOG_CRITICAL);
	return 0;
}

static void
write_part(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		abort();
	if (n && fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
	chmod(path, 0600);
}

/* The next part of [*p, end): up to the separator or the end. */
static const uint8_t *
next_part(const uint8_t **p, const uint8_t *end, size_t *n)
{
	const uint8_t *start = *p;
	if (start == NULL)
		return NULL;
	const uint8_t *sep = memmem(start, (size_t)(end - start), SEP, sizeof(SEP) - 1);
	if (sep) {
		*n = (size_t)(sep - start);
		*p = sep + sizeof(SEP) - 1;
	} else {
		*n = (size_t)(end - start);
		*p = NULL;
	}
	return start;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	const uint8_t *part;
	size_t n;
	char *envtext = NULL;
	char *envp[33];
	int nenv = 0;

	unlink(config_path);
	unlink(secrets_path);
	if ((part = next_part(&p, end, &n)) != NULL)
		write_part(config_path, part, n);
	if ((part = next_part(&p, end, &n)) != NULL)
		write_part(secrets_path, part, n);
	if ((part = next_part(&p, end, &n)) != NULL) {
		/* NAME=VALUE lines; a line without '=' or with a NUL is skipped, as a real environment has none */
		envtext = malloc(n + 1);
		memcpy(envtext, part, n);
		envtext[n] = '\0';
		for (char *save = NULL, *line = strtok_r(envtext, "\n", &save); line && nenv < 32;
		     line = strtok_r(NULL, "\n", &save))
			if (strchr(line, '=') != NULL && line[0] != '=')
				envp[nenv++] = line;
	}
	envp[nenv] = NULL;

	pg2md_config_flags flags = PG2MD_CONFIG_FLAGS_INIT;
	flags.project_dir = project;
	pg2md_config *cfg = NULL;
	pg2md_error err;
	pg2md_error_init(&err);
	pg2md_code rc = pg2md_config_load(&cfg, &flags, envp, &err);
	if (rc == PG2MD_OK) {
		const char *keys[64], *values[64];
		int np = pg2md_config_pg_params(cfg, keys, values, 64);
		size_t total = 0;
		for (int i = 0; i < np; i++)
			total += strlen(keys[i]) + strlen(values[i]);
		for (int i = 0; i < cfg->tables.n; i++) {
			(void)pg2md_config_disposition(cfg, cfg->tables.items[i]);
			(void)pg2md_config_table(cfg, cfg->tables.items[i]);
		}
		for (int i = 0; i < cfg->n_prov; i++) {
			total += strlen(cfg->prov[i].key) + strlen(cfg->prov[i].where);
			if (cfg->prov[i].value)
				total += strlen(cfg->prov[i].value);
		}
		if (total == (size_t)-1)
			abort(); /* keeps the walk from being optimised away */
		pg2md_config_free(cfg);
	} else if (err.msg[0] == '\0') {
		fprintf(stderr, "fuzz_config: pg2md_config_load failed (%d) with an empty message\n", (int)rc);
		abort();
	}
	free(envtext);
	return 0;
}
