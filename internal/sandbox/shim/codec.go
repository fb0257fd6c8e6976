package shim

import (
	"bytes"
	"strconv"
)

// The configuration travels as "key=value\0" records, simple enough for
// the C fast path (shim_cgo.go) to read without a JSON parser. Lists are
// repeated keys in order; a bind is "ro=<src>" or "rw=<src>" followed by
// "to=<dst>".

// Encode writes c as records.
func (c *Config) Encode() []byte {
	var b []byte
	put := func(k, v string) {
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, v...)
		b = append(b, 0)
	}
	put("path", c.Path)
	for _, a := range c.Args {
		put("arg", a)
	}
	for _, e := range c.Env {
		put("env", e)
	}
	put("dir", c.Dir)
	if c.Root {
		put("root", "1")
	}
	put("tmpmb", strconv.Itoa(c.TmpMB))
	for _, d := range c.SystemDirs {
		put("sysdir", d)
	}
	for _, d := range c.Dirs {
		put("mkdir", d)
	}
	for _, m := range c.Binds {
		if m.RW {
			put("rw", m.Src)
		} else {
			put("ro", m.Src)
		}
		put("to", m.Dst)
	}
	put("uid", strconv.Itoa(c.UID))
	put("gid", strconv.Itoa(c.GID))
	put("nofile", strconv.FormatUint(c.NoFile, 10))
	put("nproc", strconv.FormatUint(c.NProc, 10))
	if c.Probe {
		put("probe", "1")
	}
	if c.UnshareUser {
		put("userns", "1")
	}
	for _, t := range c.JoinTasks {
		put("cgjoin", t)
	}
	return b
}

// Decode reads records written by Encode.
func Decode(b []byte) Config {
	c := Config{UID: -1, GID: -1}
	for _, rec := range bytes.Split(b, []byte{0}) {
		k, v, ok := bytes.Cut(rec, []byte{'='})
		if !ok {
			continue
		}
		s := string(v)
		n, _ := strconv.ParseInt(s, 10, 64)
		switch string(k) {
		case "path":
			c.Path = s
		case "arg":
			c.Args = append(c.Args, s)
		case "env":
			c.Env = append(c.Env, s)
		case "dir":
			c.Dir = s
		case "root":
			c.Root = s == "1"
		case "tmpmb":
			c.TmpMB = int(n)
		case "sysdir":
			c.SystemDirs = append(c.SystemDirs, s)
		case "mkdir":
			c.Dirs = append(c.Dirs, s)
		case "ro", "rw":
			c.Binds = append(c.Binds, Bind{Src: s, RW: string(k) == "rw"})
		case "to":
			if len(c.Binds) > 0 {
				c.Binds[len(c.Binds)-1].Dst = s
			}
		case "uid":
			c.UID = int(n)
		case "gid":
			c.GID = int(n)
		case "nofile":
			c.NoFile = uint64(n)
		case "nproc":
			c.NProc = uint64(n)
		case "probe":
			c.Probe = s == "1"
		case "userns":
			c.UnshareUser = s == "1"
		case "cgjoin":
			c.JoinTasks = append(c.JoinTasks, s)
		}
	}
	return c
}

// Encode writes the status as "op\0errno\0path\0msg".
func (s Status) Encode() []byte {
	return []byte(s.Op + "\x00" + strconv.Itoa(s.Errno) + "\x00" + s.Path + "\x00" + s.Msg)
}

// DecodeStatus reads what Status.Encode (or the C shim) wrote.
func DecodeStatus(b []byte) Status {
	f := bytes.SplitN(b, []byte{0}, 4)
	for len(f) < 4 {
		f = append(f, nil)
	}
	n, _ := strconv.Atoi(string(f[1]))
	return Status{Op: string(f[0]), Errno: n, Path: string(f[2]), Msg: string(f[3])}
}
