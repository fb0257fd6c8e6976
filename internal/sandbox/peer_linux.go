package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// Runtime API peer verification (docs/security.md "Runtime API
// isolation"). Every box runs as a host uid of its own (Host.allocID), so
// the socket at the other end of a Runtime API connection tells whose it
// is: the kernel records the creator's uid in every socket and reports it
// through sock_diag. One exact lookup per accepted connection; runtimes
// keep their connection alive, so warm invokes never pay it.

// Guard returns ln handing out only connections whose peer socket belongs
// to the box's host uid; any other is reset at once and reported to
// refused (with the owner's uid, or the lookup's error). Without the
// RuntimeAPIPeer protection it returns ln.
func (b *Box) Guard(ln net.Listener, refused func(remote net.Addr, uid int, err error)) net.Listener {
	if !b.h.Active(RuntimeAPIPeer) || b.hostID < 0 {
		return ln
	}
	uid := uint32(b.hostID)
	return &peerListener{Listener: ln, refused: refused, allow: func(owner uint32, err error) bool {
		return err == nil && owner == uid
	}}
}

// Outsiders returns ln handing out only connections that do not come from
// a box: for a lambada listener other than the public API, which no
// function may reach (docs/security.md "Runtime API isolation"). A peer
// not on this host (no local socket has its address pair) is let in.
// Without the RuntimeAPIPeer protection boxes have no uid of their own to
// tell them by, and it returns ln.
func (h *Host) Outsiders(ln net.Listener, refused func(remote net.Addr, uid int, err error)) net.Listener {
	if !h.Active(RuntimeAPIPeer) {
		return ln
	}
	return &peerListener{Listener: ln, refused: refused, allow: func(owner uint32, err error) bool {
		if errors.Is(err, errNoSocket) {
			return true
		}
		return err == nil && !isBoxID(owner)
	}}
}

// isBoxID reports whether uid is in the range boxes' host ids come from.
func isBoxID(uid uint32) bool {
	return uid >= hostIDBase+1000 && uid < hostIDBase+1000+hostIDs
}

type peerListener struct {
	net.Listener
	allow   func(owner uint32, err error) bool
	refused func(net.Addr, int, error)
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, err := connOwner(c)
		if l.allow(uid, err) {
			return c, nil
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset: no TIME_WAIT kept for the intruder
		}
		c.Close()
		if l.refused != nil {
			owner := -1
			if err == nil {
				owner = int(uid)
			}
			l.refused(c.RemoteAddr(), owner, err)
		}
	}
}

// errNoSocket: the kernel knows no socket with that address pair (the
// peer already closed it).
var errNoSocket = errors.New("peer socket not found")

// connOwner is the host uid of the socket at the other end of c, a TCP
// connection; errNoSocket when that socket is not on this host.
func connOwner(c net.Conn) (uint32, error) {
	local, lok := c.LocalAddr().(*net.TCPAddr)
	remote, rok := c.RemoteAddr().(*net.TCPAddr)
	if !lok || !rok {
		return 0, fmt.Errorf("not a TCP connection: %s", c.LocalAddr())
	}
	// The peer's socket is the one whose own address is our remote one.
	return socketOwner(remote.AddrPort(), local.AddrPort())
}

// Netlink sock_diag (linux/inet_diag.h): an exact lookup of one socket.
const (
	netlinkSockDiag  = 4  // NETLINK_SOCK_DIAG
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	nlmsgHdrLen      = 16
	inetDiagReqLen   = 56 // struct inet_diag_req_v2
	inetDiagMsgLen   = 72 // struct inet_diag_msg
	inetDiagUIDOff   = 64 // inet_diag_msg.idiag_uid
)

// socketOwner asks the kernel for the uid of the TCP socket bound to local
// and connected to remote. sock_diag answers for the netlink socket's
// network namespace and maps the uid into the caller's user namespace: the
// server's, so it is the host uid.
func socketOwner(local, remote netip.AddrPort) (uint32, error) {
	la, ra := local.Addr().Unmap(), remote.Addr().Unmap()
	family := uint8(syscall.AF_INET)
	if !la.Is4() || !ra.Is4() {
		family = syscall.AF_INET6
		la, ra = local.Addr(), remote.Addr()
	}
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, netlinkSockDiag)
	if err != nil {
		return 0, fmt.Errorf("sock_diag socket: %w", err)
	}
	defer syscall.Close(fd)
	// The kernel answers before sendto returns; the timeout only guards
	// against a kernel that never does.
	tv := syscall.Timeval{Sec: 1}
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)

	var req [nlmsgHdrLen + inetDiagReqLen]byte
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], sockDiagByFamily)
	ne.PutUint16(req[6:], syscall.NLM_F_REQUEST)
	ne.PutUint32(req[8:], 1) // sequence
	r := req[nlmsgHdrLen:]
	r[0], r[1] = family, syscall.IPPROTO_TCP
	ne.PutUint32(r[4:], ^uint32(0)) // every state
	id := r[8:]                     // struct inet_diag_sockid
	binary.BigEndian.PutUint16(id[0:], local.Port())
	binary.BigEndian.PutUint16(id[2:], remote.Port())
	if family == syscall.AF_INET {
		l4, r4 := la.As4(), ra.As4()
		copy(id[4:], l4[:])
		copy(id[20:], r4[:])
	} else {
		l16, r16 := la.As16(), ra.As16()
		copy(id[4:], l16[:])
		copy(id[20:], r16[:])
	}
	ne.PutUint32(id[40:], ^uint32(0)) // INET_DIAG_NOCOOKIE
	ne.PutUint32(id[44:], ^uint32(0))
	if err := syscall.Sendto(fd, req[:], 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("sock_diag request: %w", err)
	}
	var buf [1024]byte
	n, _, err := syscall.Recvfrom(fd, buf[:], 0)
	if err != nil {
		return 0, fmt.Errorf("sock_diag answer: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return 0, fmt.Errorf("sock_diag answer: %w", err)
	}
	for _, m := range msgs {
		switch m.Header.Type {
		case syscall.NLMSG_ERROR:
			if len(m.Data) < 4 {
				return 0, errors.New("sock_diag: short error")
			}
			errno := syscall.Errno(-int32(ne.Uint32(m.Data)))
			if errno == syscall.ENOENT {
				return 0, errNoSocket
			}
			return 0, fmt.Errorf("sock_diag: %w", errno)
		case sockDiagByFamily:
			if len(m.Data) < inetDiagMsgLen {
				return 0, errors.New("sock_diag: short answer")
			}
			return ne.Uint32(m.Data[inetDiagUIDOff:]), nil
		}
	}
	return 0, errors.New("sock_diag: no answer")
}

// probePeer checks that sock_diag reports the owner of a loopback
// connection of this process as this process's uid.
func probePeer() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		return err
	}
	defer s.Close()
	uid, err := connOwner(s)
	if err != nil {
		return err
	}
	if uid != uint32(syscall.Geteuid()) {
		return fmt.Errorf("sock_diag reports uid %d for a socket of uid %d", uid, syscall.Geteuid())
	}
	return nil
}
