/* SPDX-License-Identifier: MIT */
/*
 * tests/crash/crashvfs.c - power cuts and I/O faults under sqlite (see crashvfs.h).
 *
 * Per file path there is one `struct fstate` with an ordered list of operations (writes and
 * truncates) that have not reached the real file. Each op is PENDING (waiting for a sync),
 * DURABLE (already applied to the real file, kept only to keep the overlay order right while
 * LOST ops exist) or LOST (a sync failed: reads still see it, the disk never will).
 *
 * Reads: the real file, then every op laid over it in order. Size: the real size, then every
 * op replayed (a write extends, a truncate sets). Both give the page-cache view whatever mix of
 * states the list holds, because DURABLE ops are already in the real file and replaying them
 * changes nothing.
 *
 * Ops are applied through an open sqlite3_file of the wrapped VFS, never through a file
 * descriptor of our own: closing any descriptor of a file drops every POSIX lock the process
 * holds on it, which would silently break sqlite's locking.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tests/crash/crashvfs.h"

/* Files tracked at once: a database, its journal, WAL, a second connection's handles. */
#define CRASHVFS_MAX_FILES 32
/* Granularity of a write-back subset and of a tear: the smallest disk sector. */
#define CRASHVFS_SECTOR 512
/* Number of kinds of call (bits of enum crashvfs_op). */
#define CRASHVFS_N_OPS 9

enum op_state {
	OP_PENDING,
	OP_DURABLE,
	OP_LOST,
};

struct op {
	struct op *next;
	uint64_t serial;   /* global order, to find the last write of all files */
	sqlite3_int64 off; /* write offset, or the new size of a truncate */
	int len;	   /* bytes written; -1 for a truncate */
	enum op_state state;
	unsigned char data[];
};

struct cfile;

struct fstate {
	char *path;
	int refs;
	struct cfile *open_handle; /* one open handle, to apply ops through; NULL if none */
	struct op *head;
	struct op *tail;
};

struct cfile {
	sqlite3_file base;
	struct fstate *fs; /* NULL: not buffered (temp files), calls go straight through */
	int open_flags;
	sqlite3_file *real; /* follows this struct in the same allocation */
};

static struct {
	sqlite3_vfs vfs;
	sqlite3_vfs *real;
	bool registered;
	struct fstate files[CRASHVFS_MAX_FILES];
	uint64_t calls;
	uint64_t calls_of[CRASHVFS_N_OPS];
	uint64_t serial;
	uint64_t rng;
	uint64_t cut_at;
	enum crashvfs_cut_mode cut_mode;
	uint64_t fault_at;    /* fail the fault_at-th call matching fault_mask */
	uint64_t fault_count; /* calls matching fault_mask since arming */
	int fault_err;
	bool fault_sticky;
	bool fault_active; /* sticky fault triggered */
	unsigned fault_mask;
	uint64_t faults_hit;
	int last_errno;
} g;

static uint64_t rnd(void)
{
	/* xorshift64* */
	g.rng ^= g.rng >> 12;
	g.rng ^= g.rng << 25;
	g.rng ^= g.rng >> 27;
	return g.rng * 2685821657736338717ull;
}

void crashvfs_seed(uint64_t seed)
{
	g.rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t crashvfs_calls(void)
{
	return g.calls;
}

uint64_t crashvfs_calls_of(unsigned op)
{
	for (unsigned i = 0; i < CRASHVFS_N_OPS; i++)
		if (op == 1u << i)
			return g.calls_of[i];
	return 0;
}

void crashvfs_arm_cut(uint64_t at_call, enum crashvfs_cut_mode mode)
{
	g.cut_at = at_call;
	g.cut_mode = mode;
}

void crashvfs_arm_fault(uint64_t at_call, int err, bool sticky, unsigned op_mask)
{
	g.fault_at = at_call;
	g.fault_err = err;
	g.fault_sticky = sticky;
	g.fault_mask = op_mask;
	g.fault_count = 0;
	g.fault_active = false;
	g.faults_hit = 0;
}

void crashvfs_clear_fault(void)
{
	g.fault_at = 0;
	g.fault_active = false;
}

uint64_t crashvfs_fault_calls(void)
{
	return g.fault_count;
}

uint64_t crashvfs_faults_hit(void)
{
	return g.faults_hit;
}

/*
 * Every counted call starts here. Returns the errno to inject (0: run the call). A cut armed
 * at this call happens here, before the call, and the process ends: nothing runs after a
 * power cut.
 */
static int enter(unsigned op)
{
	unsigned i;

	g.calls++;
	for (i = 0; i < CRASHVFS_N_OPS; i++)
		if (op == 1u << i)
			g.calls_of[i]++;
	g.last_errno = 0;
	if (g.cut_at && g.calls >= g.cut_at) {
		crashvfs_cut(g.cut_mode);
		_exit(CRASHVFS_CUT_EXIT);
	}
	if (!(op & g.fault_mask))
		return 0;
	g.fault_count++;
	if (g.fault_active || (g.fault_at && g.fault_count >= g.fault_at)) {
		if (g.fault_sticky)
			g.fault_active = true;
		else
			g.fault_at = 0;
		g.faults_hit++;
		g.last_errno = g.fault_err;
		errno = g.fault_err;
		return g.fault_err;
	}
	return 0;
}

/* ---- per-file op lists ---------------------------------------------------------------- */

static struct fstate *fstate_get(const char *path)
{
	struct fstate *free_slot = NULL;

	for (unsigned i = 0; i < CRASHVFS_MAX_FILES; i++) {
		struct fstate *fs = &g.files[i];

		if (fs->path && strcmp(fs->path, path) == 0)
			return fs;
		if (!fs->path && !free_slot)
			free_slot = fs;
	}
	if (!free_slot)
		return NULL;
	free_slot->path = strdup(path);
	return free_slot->path ? free_slot : NULL;
}

static struct fstate *fstate_find(const char *path)
{
	for (unsigned i = 0; i < CRASHVFS_MAX_FILES; i++)
		if (g.files[i].path && strcmp(g.files[i].path, path) == 0)
			return &g.files[i];
	return NULL;
}

static void ops_free(struct fstate *fs)
{
	struct op *o = fs->head;

	while (o) {
		struct op *next = o->next;

		free(o);
		o = next;
	}
	fs->head = fs->tail = NULL;
}

static int op_add(struct fstate *fs, sqlite3_int64 off, const void *data, int len)
{
	struct op *o = malloc(sizeof(*o) + (len > 0 ? (size_t)len : 0));

	if (!o)
		return SQLITE_NOMEM;
	o->next = NULL;
	o->serial = ++g.serial;
	o->off = off;
	o->len = len;
	o->state = OP_PENDING;
	if (len > 0)
		memcpy(o->data, data, (size_t)len);
	if (fs->tail)
		fs->tail->next = o;
	else
		fs->head = o;
	fs->tail = o;
	return SQLITE_OK;
}

/* The page-cache size: the real size with every op replayed. */
static sqlite3_int64 overlay_size(const struct fstate *fs, sqlite3_int64 real_size)
{
	sqlite3_int64 size = real_size;

	for (const struct op *o = fs->head; o; o = o->next) {
		if (o->len < 0)
			size = o->off;
		else if (o->off + o->len > size)
			size = o->off + o->len;
	}
	return size;
}

/* Lay every op over @p buf, which holds the real bytes [off, off + amt). */
static void overlay_read(const struct fstate *fs, unsigned char *buf, int amt, sqlite3_int64 off)
{
	sqlite3_int64 end = off + amt;

	for (const struct op *o = fs->head; o; o = o->next) {
		if (o->len < 0) {
			if (o->off < end) {
				sqlite3_int64 from = o->off > off ? o->off : off;

				memset(buf + (from - off), 0, (size_t)(end - from));
			}
			continue;
		}
		sqlite3_int64 lo = o->off > off ? o->off : off;
		sqlite3_int64 hi = o->off + o->len < end ? o->off + o->len : end;

		if (lo < hi)
			memcpy(buf + (lo - off), o->data + (lo - o->off), (size_t)(hi - lo));
	}
}

/*
 * A handle of the wrapped VFS on @p fs's file, to apply ops through: an open one, or a new
 * one (*ret_tmp set; close it with tmp_close()).
 */
static sqlite3_file *real_handle(struct fstate *fs, sqlite3_file **ret_tmp)
{
	sqlite3_file *f;
	int out = 0;

	*ret_tmp = NULL;
	if (fs->open_handle)
		return fs->open_handle->real;
	f = calloc(1, (size_t)g.real->szOsFile);
	if (!f)
		return NULL;
	if (g.real->xOpen(g.real, fs->path, f, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MAIN_DB, &out) !=
	    SQLITE_OK) {
		if (f->pMethods)
			f->pMethods->xClose(f);
		free(f);
		return NULL;
	}
	*ret_tmp = f;
	return f;
}

static void tmp_close(sqlite3_file *f)
{
	if (!f)
		return;
	f->pMethods->xClose(f);
	free(f);
}

static void apply_range(sqlite3_file *real, const struct op *o, int from, int to)
{
	if (o->len < 0)
		real->pMethods->xTruncate(real, o->off);
	else if (from < to)
		real->pMethods->xWrite(real, o->data + from, to - from, o->off + from);
}

/* A successful sync: PENDING -> the real file. */
static int flush_file(struct fstate *fs)
{
	sqlite3_file *tmp;
	sqlite3_file *real;
	bool lost = false;
	struct op *o;

	if (!fs->head)
		return SQLITE_OK;
	real = real_handle(fs, &tmp);
	if (!real)
		return SQLITE_IOERR_FSYNC;
	for (o = fs->head; o; o = o->next) {
		if (o->state == OP_PENDING) {
			apply_range(real, o, 0, o->len);
			o->state = OP_DURABLE;
		} else if (o->state == OP_LOST) {
			lost = true;
		}
	}
	tmp_close(tmp);
	if (!lost)
		ops_free(fs);
	return SQLITE_OK;
}

void crashvfs_flush_all(void)
{
	for (unsigned i = 0; i < CRASHVFS_MAX_FILES; i++) {
		struct fstate *fs = &g.files[i];

		if (!fs->path)
			continue;
		flush_file(fs);
		ops_free(fs);
	}
}

void crashvfs_cut(enum crashvfs_cut_mode mode)
{
	struct fstate *last_fs = NULL;
	struct op *last = NULL;
	sqlite3_file *tmp;
	sqlite3_file *real;
	unsigned i;

	g.cut_at = 0;
	for (i = 0; i < CRASHVFS_MAX_FILES; i++) {
		for (struct op *o = g.files[i].head; o; o = o->next) {
			if (o->state == OP_PENDING && o->len > 0 &&
			    (!last || o->serial > last->serial)) {
				last = o;
				last_fs = &g.files[i];
			}
		}
	}
	for (i = 0; i < CRASHVFS_MAX_FILES; i++) {
		struct fstate *fs = &g.files[i];

		if (!fs->head)
			continue;
		real = mode == CRASHVFS_CUT_SUBSET || fs == last_fs ? real_handle(fs, &tmp) : NULL;
		if (real && mode == CRASHVFS_CUT_SUBSET) {
			/* the kernel wrote some dirty sectors back, in no particular order */
			for (struct op *o = fs->head; o; o = o->next) {
				if (o->state != OP_PENDING || o == last)
					continue;
				if (o->len < 0) {
					if (rnd() & 1)
						apply_range(real, o, 0, 0);
					continue;
				}
				for (int s = 0; s < o->len;) {
					int next = (int)(((o->off + s) / CRASHVFS_SECTOR + 1) *
								 CRASHVFS_SECTOR -
							 o->off);

					if (next > o->len)
						next = o->len;
					if (rnd() & 1)
						apply_range(real, o, s, next);
					s = next;
				}
			}
		}
		if (real && fs == last_fs) {
			/*
			 * The write in flight: a random prefix of its last sector made it, and
			 * sometimes the rest of that sector within the write is garbage.
			 */
			int start = (int)(((last->off + last->len - 1) / CRASHVFS_SECTOR) *
						  CRASHVFS_SECTOR -
					  last->off);
			int n;

			if (start < 0)
				start = 0;
			n = (int)(rnd() % (uint64_t)(last->len - start + 1));
			apply_range(real, last, start, start + n);
			if ((rnd() & 3) == 0 && start + n < last->len) {
				unsigned char junk[CRASHVFS_SECTOR];
				int jn = last->len - start - n;

				if (jn > CRASHVFS_SECTOR)
					jn = CRASHVFS_SECTOR;
				for (int k = 0; k < jn; k++)
					junk[k] = (unsigned char)rnd();
				real->pMethods->xWrite(real, junk, jn, last->off + start + n);
			}
		}
		if (real)
			tmp_close(tmp);
		ops_free(fs);
	}
}

/* ---- io methods ----------------------------------------------------------------------- */

static int fault_rc(int err, int io_rc)
{
	return err == ENOSPC ? SQLITE_FULL : io_rc;
}

static int c_close(sqlite3_file *file)
{
	struct cfile *f = (struct cfile *)file;
	int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;

	if (f->fs) {
		f->fs->refs--;
		/* other handles are not tracked: real_handle() opens one when needed */
		if (f->fs->open_handle == f)
			f->fs->open_handle = NULL;
	}
	return rc;
}

static int c_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
	struct cfile *f = (struct cfile *)file;
	sqlite3_int64 real_size = 0, size;
	int err = enter(CRASHVFS_READ);
	int rc;

	if (err)
		return SQLITE_IOERR_READ;
	rc = f->real->pMethods->xRead(f->real, buf, amt, off);
	if (!f->fs || !f->fs->head)
		return rc;
	if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ)
		return rc;
	rc = f->real->pMethods->xFileSize(f->real, &real_size);
	if (rc != SQLITE_OK)
		return rc;
	overlay_read(f->fs, buf, amt, off);
	size = overlay_size(f->fs, real_size);
	if (off + amt > size) {
		sqlite3_int64 from = size > off ? size : off;

		memset((unsigned char *)buf + (from - off), 0, (size_t)(off + amt - from));
		return SQLITE_IOERR_SHORT_READ;
	}
	return SQLITE_OK;
}

static int c_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 off)
{
	struct cfile *f = (struct cfile *)file;
	int err = enter(CRASHVFS_WRITE);

	if (err)
		return fault_rc(err, SQLITE_IOERR_WRITE);
	if (!f->fs)
		return f->real->pMethods->xWrite(f->real, buf, amt, off);
	return op_add(f->fs, off, buf, amt);
}

static int c_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct cfile *f = (struct cfile *)file;
	int err = enter(CRASHVFS_TRUNCATE);

	if (err)
		return fault_rc(err, SQLITE_IOERR_TRUNCATE);
	if (!f->fs)
		return f->real->pMethods->xTruncate(f->real, size);
	return op_add(f->fs, size, NULL, -1);
}

static int c_sync(sqlite3_file *file, int flags)
{
	struct cfile *f = (struct cfile *)file;
	int err = enter(CRASHVFS_SYNC);

	if (err) {
		/* fsyncgate: the kernel marked the pages clean; they never reach the disk */
		if (f->fs)
			for (struct op *o = f->fs->head; o; o = o->next)
				if (o->state == OP_PENDING)
					o->state = OP_LOST;
		return fault_rc(err, SQLITE_IOERR_FSYNC);
	}
	if (!f->fs)
		return f->real->pMethods->xSync(f->real, flags);
	if (!f->fs->open_handle)
		f->fs->open_handle = f;
	/* the real file is the disk: no need to make the host's disk durable too */
	return flush_file(f->fs);
}

static int c_file_size(sqlite3_file *file, sqlite3_int64 *ret)
{
	struct cfile *f = (struct cfile *)file;
	sqlite3_int64 size = 0;
	int err = enter(CRASHVFS_FILESIZE);
	int rc;

	if (err)
		return SQLITE_IOERR_FSTAT;
	rc = f->real->pMethods->xFileSize(f->real, &size);
	if (rc != SQLITE_OK)
		return rc;
	*ret = f->fs ? overlay_size(f->fs, size) : size;
	return SQLITE_OK;
}

static int c_lock(sqlite3_file *file, int lock)
{
	struct cfile *f = (struct cfile *)file;

	return f->real->pMethods->xLock(f->real, lock);
}

static int c_unlock(sqlite3_file *file, int lock)
{
	struct cfile *f = (struct cfile *)file;

	return f->real->pMethods->xUnlock(f->real, lock);
}

static int c_check_reserved(sqlite3_file *file, int *ret)
{
	struct cfile *f = (struct cfile *)file;

	return f->real->pMethods->xCheckReservedLock(f->real, ret);
}

static int c_file_control(sqlite3_file *file, int op, void *arg)
{
	struct cfile *f = (struct cfile *)file;

	/* a size hint would grow the real file behind the buffered ops' back */
	if (f->fs && (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE))
		return SQLITE_OK;
	if (op == SQLITE_FCNTL_VFSNAME) {
		*(char **)arg = sqlite3_mprintf("%s", CRASHVFS_NAME);
		return SQLITE_OK;
	}
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int c_sector_size(sqlite3_file *file)
{
	struct cfile *f = (struct cfile *)file;

	return f->real->pMethods->xSectorSize(f->real);
}

static int c_device_characteristics(sqlite3_file *file)
{
	struct cfile *f = (struct cfile *)file;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int c_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **ret)
{
	struct cfile *f = (struct cfile *)file;
	int err = enter(CRASHVFS_SHMMAP);

	if (err)
		return fault_rc(err, SQLITE_IOERR_SHMMAP);
	return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, ret);
}

static int c_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct cfile *f = (struct cfile *)file;

	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void c_shm_barrier(sqlite3_file *file)
{
	struct cfile *f = (struct cfile *)file;

	f->real->pMethods->xShmBarrier(f->real);
}

static int c_shm_unmap(sqlite3_file *file, int delete_flag)
{
	struct cfile *f = (struct cfile *)file;

	return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static const sqlite3_io_methods crash_io = {
	.iVersion = 2, /* shared memory, no xFetch (memory-mapped reads would bypass us) */
	.xClose = c_close,
	.xRead = c_read,
	.xWrite = c_write,
	.xTruncate = c_truncate,
	.xSync = c_sync,
	.xFileSize = c_file_size,
	.xLock = c_lock,
	.xUnlock = c_unlock,
	.xCheckReservedLock = c_check_reserved,
	.xFileControl = c_file_control,
	.xSectorSize = c_sector_size,
	.xDeviceCharacteristics = c_device_characteristics,
	.xShmMap = c_shm_map,
	.xShmLock = c_shm_lock,
	.xShmBarrier = c_shm_barrier,
	.xShmUnmap = c_shm_unmap,
};

/* ---- vfs methods ---------------------------------------------------------------------- */

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
	struct cfile *f = (struct cfile *)file;
	const int durable = SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL |
			    SQLITE_OPEN_SUPER_JOURNAL;
	int err = enter(CRASHVFS_OPEN);
	int rc;

	(void)vfs;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	if (err)
		return SQLITE_CANTOPEN;
	rc = g.real->xOpen(g.real, name, f->real, flags, out);
	if (rc != SQLITE_OK)
		return rc;
	f->open_flags = flags;
	if (name && (flags & durable) && !(flags & SQLITE_OPEN_DELETEONCLOSE)) {
		f->fs = fstate_get(name);
		if (!f->fs) {
			f->real->pMethods->xClose(f->real);
			return SQLITE_CANTOPEN;
		}
		f->fs->refs++;
		if (!f->fs->open_handle)
			f->fs->open_handle = f;
	}
	f->base.pMethods = &crash_io;
	return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	struct fstate *fs = fstate_find(name);
	int err = enter(CRASHVFS_DELETE);

	(void)vfs;
	if (err)
		return SQLITE_IOERR_DELETE;
	if (fs)
		ops_free(fs);
	return g.real->xDelete(g.real, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *ret)
{
	int err = enter(CRASHVFS_ACCESS);

	(void)vfs;
	if (err)
		return SQLITE_IOERR_ACCESS;
	return g.real->xAccess(g.real, name, flags, ret);
}

static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return g.real->xFullPathname(g.real, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return g.real->xDlOpen(g.real, name);
}

static void v_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	g.real->xDlError(g.real, n, msg);
}

static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return g.real->xDlSym(g.real, h, sym);
}

static void v_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	g.real->xDlClose(g.real, h);
}

static int v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return g.real->xRandomness(g.real, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return g.real->xSleep(g.real, us);
}

static int v_current_time(sqlite3_vfs *vfs, double *ret)
{
	(void)vfs;
	return g.real->xCurrentTime(g.real, ret);
}

static int v_get_last_error(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	/* the unix VFS answers errno; an injected fault answers its own */
	if (g.last_errno)
		return g.last_errno;
	return g.real->xGetLastError(g.real, n, msg);
}

static int v_current_time_i64(sqlite3_vfs *vfs, sqlite3_int64 *ret)
{
	(void)vfs;
	return g.real->xCurrentTimeInt64(g.real, ret);
}

int crashvfs_register(void)
{
	if (g.registered)
		return 0;
	g.real = sqlite3_vfs_find(NULL);
	if (!g.real || g.real->iVersion < 2)
		return -EIO;
	if (!g.rng)
		crashvfs_seed(0);
	g.vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct cfile) + g.real->szOsFile,
		.mxPathname = g.real->mxPathname,
		.zName = CRASHVFS_NAME,
		.xOpen = v_open,
		.xDelete = v_delete,
		.xAccess = v_access,
		.xFullPathname = v_full_pathname,
		.xDlOpen = v_dlopen,
		.xDlError = v_dlerror,
		.xDlSym = v_dlsym,
		.xDlClose = v_dlclose,
		.xRandomness = v_randomness,
		.xSleep = v_sleep,
		.xCurrentTime = v_current_time,
		.xGetLastError = v_get_last_error,
		.xCurrentTimeInt64 = v_current_time_i64,
	};
	if (sqlite3_vfs_register(&g.vfs, 0) != SQLITE_OK)
		return -EIO;
	g.registered = true;
	return 0;
}
