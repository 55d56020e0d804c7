/* lock.c — the pipeline's run lock (see lock.h). */
#include "stage/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "stage/package.h"
#include "util/buf.h"

int
pipeline_lock(const pg2md_config *cfg, pg2md_error *err)
{
	char *dir = pkg_pipeline_dir(cfg);
	char *path = dir ? xasprintf("%s/run.lock", dir) : NULL;
	int fd = -1;

	if (!path) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (mkdir_p(dir, 0700, err))
		goto out;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not open lock file \"%s\": %s", path, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char holder[256] = "";
		ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		pg2md_chomp(holder);
		pg2md_fail(err, PG2MD_ERR_RUN, "pipeline \"%s\" is already running", cfg->pipeline_name);
		if (holder[0])
			pg2md_detail(err, "the lock \"%s\" is held by %s", path, holder);
		pg2md_hint(err, "wait for that run to finish; pg2md refuses to run the same pipeline twice at once");
		close(fd);
		fd = -1;
		goto out;
	}
	{
		char host[128] = "", when[64];
		time_t now = time(NULL);
		struct tm tm;
		gethostname(host, sizeof(host) - 1);
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		char *text = xasprintf("process %ld on %s, started %s\n", (long)getpid(), host, when);
		/* the lock holds without the note if writing it fails (or memory ran out for it) */
		if (text && ftruncate(fd, 0) == 0)
			(void)!pwrite(fd, text, strlen(text), 0);
		free(text);
	}
out:
	free(path);
	free(dir);
	return fd;
}

void
pipeline_unlock(int fd)
{
	if (fd >= 0) {
		/* the note goes; closing releases the lock whatever ftruncate says */
		(void)!ftruncate(fd, 0);
		close(fd);
	}
}
