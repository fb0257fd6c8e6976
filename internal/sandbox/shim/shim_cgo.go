//go:build linux && cgo

package shim

// The fast path: when the binary is built with cgo, this C constructor
// runs the shim before the Go runtime starts (as runc's nsexec does), which
// saves the few milliseconds a large Go binary needs to initialise. It does
// exactly what shim_linux.go's Go init does, reading the same records.

/*
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define LS_MAX 256

struct ls_bind { const char *src, *dst; int rw; };

struct ls_config {
	const char *path, *dir;
	const char *args[LS_MAX + 1];
	const char *env[LS_MAX * 4 + 1];
	int nargs, nenv;
	int root, tmpmb, probe, userns;
	const char *sysdirs[32];
	int nsysdirs;
	const char *mkdirs[32];
	int nmkdirs;
	struct ls_bind binds[64];
	int nbinds;
	long uid, gid;
	unsigned long nofile, nproc;
	const char *cgjoin[8];
	int ncgjoin;
};

static void ls_fail(const char *op, const char *path, int err, const char *msg) {
	char buf[4096];
	int n = snprintf(buf, sizeof buf, "%s%c%d%c%s%c%s", op, 0, err, 0, path ? path : "", 0,
		msg ? msg : strerror(err));
	if (n > (int)sizeof buf) n = sizeof buf;
	if (write(4, buf, n) < 0) {}
	_exit(127);
}

static void ls_failf(const char *op, const char *what, const char *arg) {
	char msg[2048];
	int err = errno;
	snprintf(msg, sizeof msg, "%s %s: %s", what, arg ? arg : "", strerror(err));
	ls_fail(op, NULL, 0, msg);
}

static int ls_under(const char *p, struct ls_config *c) {
	for (int i = 0; i < c->nsysdirs; i++) {
		size_t n = strlen(c->sysdirs[i]);
		if (strncmp(p, c->sysdirs[i], n) == 0 && (p[n] == 0 || p[n] == '/')) return 1;
	}
	return 0;
}

static void ls_mkdirp(const char *path, mode_t mode) {
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			if (mkdir(buf, mode) < 0 && errno != EEXIST) ls_failf("mount", "mkdir", buf);
			*p = '/';
		}
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST) ls_failf("mount", "mkdir", buf);
}

static void ls_bind(const char *src, const char *dst, int rw, int rec) {
	struct stat st;
	if (stat(src, &st) < 0) ls_failf("mount", "stat", src);
	if (S_ISDIR(st.st_mode)) {
		ls_mkdirp(dst, 0755);
	} else {
		char parent[4096];
		snprintf(parent, sizeof parent, "%s", dst);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent) { *slash = 0; ls_mkdirp(parent, 0755); }
		int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0) ls_failf("mount", "preparing", dst);
		close(fd);
	}
	if (mount(src, dst, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0) ls_failf("mount", "binding", src);
	if (rw) return;
	// A remount must keep the flags the kernel locked on the source mount.
	struct statfs sf;
	if (statfs(dst, &sf) < 0) ls_failf("mount", "statfs", dst);
	unsigned long keep = 0;
	if (sf.f_flags & ST_NOSUID) keep |= MS_NOSUID;
	if (sf.f_flags & ST_NODEV) keep |= MS_NODEV;
	if (sf.f_flags & ST_NOEXEC) keep |= MS_NOEXEC;
	if (sf.f_flags & ST_NOATIME) keep |= MS_NOATIME;
	if (sf.f_flags & ST_NODIRATIME) keep |= MS_NODIRATIME;
	if (sf.f_flags & ST_RELATIME) keep |= MS_RELATIME;
	if (mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | keep, NULL) < 0)
		ls_failf("mount", "making read-only", dst);
}

// The box's root is built in a tmpfs mounted over /sys, then made / by
// pivot_root. Its parts: the base (the tmpfs and the system dirs), /dev and
// /proc are the same in every box, so a spare shim builds them before it is
// taken (ls_build_common); /tmp (its size), the box's own binds and dirs
// come with the configuration (ls_build_own).
static const char *ls_r = "/sys";

static void ls_root_base(struct ls_config *c) {
	const char *r = ls_r;
	char p[4096];
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) ls_failf("mount", "making / private", "");
	if (mount("tmpfs", r, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=0755") < 0)
		ls_failf("mount", "mounting the root tmpfs", "");
	for (int i = 0; i < c->nsysdirs; i++) {
		const char *d = c->sysdirs[i];
		struct stat st;
		if (lstat(d, &st) < 0) continue;
		snprintf(p, sizeof p, "%s%s", r, d);
		if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(d, target, sizeof target - 1);
			if (n < 0) ls_failf("mount", "readlink", d);
			target[n] = 0;
			if (symlink(target, p) < 0) ls_failf("mount", "symlink", p);
			continue;
		}
		if (!S_ISDIR(st.st_mode)) continue;
		ls_bind(d, p, 0, 1);
	}
}

static void ls_root_tmp_binds(struct ls_config *c) {
	const char *r = ls_r;
	char p[4096];
	char opts[64];
	snprintf(p, sizeof p, "%s/tmp", r);
	ls_mkdirp(p, 0755);
	snprintf(opts, sizeof opts, "mode=1777,size=%dm", c->tmpmb);
	if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) ls_failf("mount", "mounting", "/tmp");
	for (int i = 0; i < c->nbinds; i++) {
		if (ls_under(c->binds[i].dst, c)) continue;
		snprintf(p, sizeof p, "%s%s", r, c->binds[i].dst);
		ls_bind(c->binds[i].src, p, c->binds[i].rw, 1);
	}
}

static void ls_root_dev_proc(void) {
	const char *r = ls_r;
	char p[4096];
	snprintf(p, sizeof p, "%s/dev", r);
	ls_mkdirp(p, 0755);
	const char *devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
	for (unsigned i = 0; i < sizeof devs / sizeof devs[0]; i++) {
		char src[64];
		snprintf(src, sizeof src, "/dev/%s", devs[i]);
		if (access(src, F_OK) < 0) continue;
		snprintf(p, sizeof p, "%s/dev/%s", r, devs[i]);
		ls_bind(src, p, 1, 0);
	}
	const char *links[][2] = {{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
		{"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}};
	for (unsigned i = 0; i < sizeof links / sizeof links[0]; i++) {
		snprintf(p, sizeof p, "%s/dev/%s", r, links[i][0]);
		if (symlink(links[i][1], p) < 0) ls_failf("mount", "symlink", p);
	}
	snprintf(p, sizeof p, "%s/proc", r);
	ls_mkdirp(p, 0555);
	if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) ls_failf("mount", "mounting", "/proc");
}

static void ls_root_finish(struct ls_config *c) {
	const char *r = ls_r;
	char p[4096];
	for (int i = 0; i < c->nmkdirs; i++) {
		snprintf(p, sizeof p, "%s%s", r, c->mkdirs[i]);
		ls_mkdirp(p, 0755);
	}
	if (chdir(r) < 0) ls_failf("mount", "chdir", r);
	if (syscall(SYS_pivot_root, ".", ".") < 0) ls_failf("mount", "pivot_root", "");
	if (umount2(".", MNT_DETACH) < 0) ls_failf("mount", "detaching the host root", "");
	if (chdir("/") < 0) ls_failf("mount", "chdir", "/");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		ls_failf("mount", "making / read-only", "");
}

// ls_build_root builds the whole root, or, after ls_build_common, the
// box's own part of it.
static void ls_build_root(struct ls_config *c, int common_built) {
	if (common_built) {
		ls_root_tmp_binds(c);
	} else {
		ls_root_base(c);
		ls_root_tmp_binds(c);
		ls_root_dev_proc();
	}
	ls_root_finish(c);
}

// ls_build_common is a spare's head start (PrebuildEnv lists the system
// dirs, colon-separated): the part of the root every box has. 'R' on fd 4
// says it is done; a failure is reported there as any other.
static int ls_sysfd = -1; // the host's /sys, under the root a spare built over it

static void ls_build_common(struct ls_config *c, char *dirs) {
	// The box's cgroup files (cgjoin) are under /sys, which the root
	// being built covers: they are opened through this later.
	ls_sysfd = open("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ls_sysfd < 0) ls_failf("mount", "opening", "/sys");
	for (char *d = strtok(dirs, ":"); d && c->nsysdirs < 32; d = strtok(NULL, ":")) c->sysdirs[c->nsysdirs++] = d;
	ls_root_base(c);
	ls_root_dev_proc();
	if (write(4, "R", 1) != 1) ls_failf("mount", "signalling", "the server");
}

static int ls_last_cap(void) {
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 40;
	char b[16] = {0};
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	return n > 0 ? atoi(b) : 40;
}

static void ls_drop(struct ls_config *c) {
	int last = ls_last_cap();
	if (c->uid < 0) {
		if (geteuid() != 0) return;
		for (int cp = 0; cp <= last; cp++) prctl(PR_CAPBSET_DROP, cp, 0, 0, 0);
		if (prctl(PR_SET_SECUREBITS, 0xf, 0, 0, 0) < 0) ls_failf("privileges", "securebits", "");
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
		struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct data[2];
		memset(data, 0, sizeof data);
		if (syscall(SYS_capset, &hdr, data) < 0) ls_failf("privileges", "capset", "");
		return;
	}
	for (int cp = 0; cp <= last; cp++) prctl(PR_CAPBSET_DROP, cp, 0, 0, 0);
	if (setgroups(0, NULL) < 0) ls_failf("privileges", "setgroups", "");
	if (setresgid(c->gid, c->gid, c->gid) < 0) ls_failf("privileges", "setresgid", "");
	if (setresuid(c->uid, c->uid, c->uid) < 0) ls_failf("privileges", "setresuid", "");
}

static void ls_probe_checks(struct ls_config *c) {
	struct rlimit lim;
	if (c->nproc > 0 && (getrlimit(RLIMIT_NPROC, &lim) < 0 || lim.rlim_cur != c->nproc))
		ls_fail("probe", NULL, 0, "RLIMIT_NPROC not applied");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) ls_fail("probe", NULL, 0, "no_new_privs not set");
	if (c->root) {
		if (access("/proc/self/status", F_OK) < 0) ls_fail("probe", NULL, 0, "no /proc in the box");
		if (getpid() != 1) ls_fail("probe", NULL, 0, "not pid 1 of a pid namespace");
		struct statfs sf;
		if (statfs("/tmp", &sf) < 0 || sf.f_type != 0x01021994) ls_fail("probe", NULL, 0, "/tmp is not a tmpfs");
	}
	if (c->uid >= 0 && (long)getuid() != c->uid) ls_fail("probe", NULL, 0, "uid not switched");
}

// The first byte on fd 3: 'K' keeps stdout and stderr, 'O' comes with
// the two descriptors that replace them (shim_linux.go's takeOutput).
static void ls_take_output(void) {
	char tag;
	struct iovec iov = {&tag, 1};
	union { char buf[CMSG_SPACE(2 * sizeof(int))]; struct cmsghdr align; } u;
	struct msghdr m;
	memset(&m, 0, sizeof m);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof u.buf;
	ssize_t n;
	do n = recvmsg(3, &m, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
	if (n < 0) ls_failf("setup", "receiving", "stdout and stderr");
	if (n != 1) ls_fail("setup", NULL, 0, "receiving stdout and stderr: no output byte");
	if (tag == 'K') return;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	if (tag != 'O' || !cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		cm->cmsg_len != CMSG_LEN(2 * sizeof(int)))
		ls_fail("setup", NULL, 0, "receiving stdout and stderr: want 2 descriptors");
	int fd[2];
	memcpy(fd, CMSG_DATA(cm), sizeof fd);
	for (int i = 0; i < 2; i++) {
		if (dup2(fd[i], 1 + i) < 0) ls_failf("setup", "dup2", "stdout/stderr");
		close(fd[i]);
	}
}

__attribute__((constructor)) static void lambada_sandbox_shim(void) {
	const char *mark = getenv("_LAMBADA_SANDBOX_SHIM");
	if (!mark || strcmp(mark, "1") != 0) return;
	if (fcntl(4, F_SETFD, FD_CLOEXEC) < 0) ls_failf("setup", "status fd", "");
	fcntl(5, F_SETFD, FD_CLOEXEC); // the go-ahead pipe, when there is one
	static struct ls_config c;
	int common = 0; // the common part of the root was built ahead (a spare)
	const char *pre = getenv("_LAMBADA_SANDBOX_PREBUILD");
	if (pre && *pre) {
		static char predirs[4096];
		snprintf(predirs, sizeof predirs, "%s", pre);
		ls_build_common(&c, predirs);
		common = 1;
	}
	ls_take_output();
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1 >= cap) { cap *= 2; buf = realloc(buf, cap); }
		if (!buf) ls_fail("setup", NULL, ENOMEM, NULL);
		ssize_t n = read(3, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) ls_failf("setup", "reading config", "");
		if (n == 0) break;
		len += n;
	}
	buf[len] = 0;
	close(3);
	int nsys = 0; // the configuration's system dirs, checked against common's
	c.uid = c.gid = -1;
	c.tmpmb = 512;
	for (size_t off = 0; off < len;) {
		char *rec = buf + off;
		size_t n = strlen(rec);
		off += n + 1;
		char *v = strchr(rec, '=');
		if (!v) continue;
		*v++ = 0;
		if (!strcmp(rec, "path")) c.path = v;
		else if (!strcmp(rec, "arg") && c.nargs < LS_MAX) c.args[c.nargs++] = v;
		else if (!strcmp(rec, "env") && c.nenv < LS_MAX * 4) c.env[c.nenv++] = v;
		else if (!strcmp(rec, "dir")) c.dir = v;
		else if (!strcmp(rec, "root")) c.root = !strcmp(v, "1");
		else if (!strcmp(rec, "tmpmb")) c.tmpmb = atoi(v);
		else if (!strcmp(rec, "sysdir") && common) {
			if (nsys >= c.nsysdirs || strcmp(c.sysdirs[nsys++], v) != 0)
				ls_fail("mount", NULL, 0, "the spare's root was built for other system dirs");
		} else if (!strcmp(rec, "sysdir") && c.nsysdirs < 32) c.sysdirs[c.nsysdirs++] = v;
		else if (!strcmp(rec, "mkdir") && c.nmkdirs < 32) c.mkdirs[c.nmkdirs++] = v;
		else if ((!strcmp(rec, "ro") || !strcmp(rec, "rw")) && c.nbinds < 64) {
			c.binds[c.nbinds].src = v;
			c.binds[c.nbinds].dst = v;
			c.binds[c.nbinds++].rw = !strcmp(rec, "rw");
		} else if (!strcmp(rec, "to") && c.nbinds > 0) c.binds[c.nbinds - 1].dst = v;
		else if (!strcmp(rec, "uid")) c.uid = atol(v);
		else if (!strcmp(rec, "gid")) c.gid = atol(v);
		else if (!strcmp(rec, "nofile")) c.nofile = strtoul(v, NULL, 10);
		else if (!strcmp(rec, "nproc")) c.nproc = strtoul(v, NULL, 10);
		else if (!strcmp(rec, "probe")) c.probe = !strcmp(v, "1");
		else if (!strcmp(rec, "userns")) c.userns = !strcmp(v, "1");
		else if (!strcmp(rec, "cgjoin") && c.ncgjoin < 8) c.cgjoin[c.ncgjoin++] = v;
	}
	if (!c.path) ls_fail("setup", NULL, 0, "no path in the config");
	if (common && (!c.root || nsys != c.nsysdirs))
		ls_fail("mount", NULL, 0, "the spare's root was built for other system dirs");
	// The box's cgroups are joined by moving this (only) thread
	// (Config.JoinTasks) just before the exec: the setup is lambada's and
	// runs at the server's CPU share; the runtime runs in the box's groups
	// from its start. The files are opened now, while the host's
	// /sys/fs/cgroup is still reachable.
	int cgfd[8];
	for (int i = 0; i < c.ncgjoin; i++) {
		if (ls_sysfd >= 0 && strncmp(c.cgjoin[i], "/sys/", 5) == 0)
			cgfd[i] = openat(ls_sysfd, c.cgjoin[i] + 5, O_WRONLY | O_CLOEXEC);
		else
			cgfd[i] = open(c.cgjoin[i], O_WRONLY | O_CLOEXEC);
		if (cgfd[i] < 0) ls_failf("cgroup", "joining", c.cgjoin[i]);
	}
	if (ls_sysfd >= 0) close(ls_sysfd);
	if (c.root) ls_build_root(&c, common);
	if (c.dir && *c.dir && chdir(c.dir) < 0) ls_failf("chdir", "chdir", c.dir);
	if (c.userns) {
		// Enter a user namespace of our own now that the root is built
		// (as host root): the server maps our ids and says go on fd 5.
		int last = ls_last_cap();
		for (int cp = 0; cp <= last; cp++) prctl(PR_CAPBSET_DROP, cp, 0, 0, 0);
		if (unshare(CLONE_NEWUSER) < 0) ls_failf("privileges", "unshare", "CLONE_NEWUSER");
		if (write(4, "U", 1) != 1) ls_failf("privileges", "signalling", "the server");
		char go;
		if (read(5, &go, 1) != 1) ls_fail("privileges", NULL, 0, "the server did not map the user namespace");
		close(5);
	}
	struct rlimit lim;
	if (c.nofile > 0) {
		lim.rlim_cur = lim.rlim_max = c.nofile;
		if (setrlimit(RLIMIT_NOFILE, &lim) < 0) ls_failf("rlimit", "RLIMIT_NOFILE", "");
	}
	if (c.nproc > 0) {
		lim.rlim_cur = lim.rlim_max = c.nproc;
		if (setrlimit(RLIMIT_NPROC, &lim) < 0) ls_failf("rlimit", "RLIMIT_NPROC", "");
	}
	ls_drop(&c);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ls_failf("privileges", "no_new_privs", "");
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	// Joining moves the thread; the fds' opener (host root) is what the
	// kernel checks, so ids and capabilities are already dropped here.
	for (int i = 0; i < c.ncgjoin; i++) {
		if (write(cgfd[i], "0", 1) != 1) ls_failf("cgroup", "joining", c.cgjoin[i]);
		close(cgfd[i]);
	}
	if (c.probe) ls_probe_checks(&c);
	execve(c.path, (char *const *)c.args, (char *const *)c.env);
	ls_fail("fork/exec", c.path, errno, NULL);
}
*/
import "C"

// CFastPath reports that the C constructor above handles the shim, which
// can enter a user namespace itself (Config.UnshareUser).
const CFastPath = true
