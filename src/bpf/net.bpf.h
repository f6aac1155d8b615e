/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Socket records (the connections view): connect, accept, bind, listen, and
 * datagrams sent to an address, each at its exit, with the socket's family,
 * type and protocol and both its addresses; and the outcome of a
 * non-blocking TCP connect, from the socket's state change.
 * Included by systrace.bpf.c, after its maps and the open and exec calls'
 * entry, whose per-thread state these calls share. */
#ifndef NET_BPF_H
#define NET_BPF_H

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINPROGRESS 115

/* i386 socketcall's call numbers (linux/net.h). */
#define SYS_BIND 2
#define SYS_CONNECT 3
#define SYS_LISTEN 4
#define SYS_ACCEPT 5
#define SYS_SENDTO 11
#define SYS_SENDMSG 16
#define SYS_ACCEPT4 18

/* A TCP connect between its entry and the socket's leaving SYN_SENT, keyed
 * by the socket. Its syscall's exit and the state change each set their
 * bit; the one that finds the other's set sends the outcome: TCP may settle
 * a loopback connect before the syscall returns EINPROGRESS, or long after. */
#define CONNECT_RETURNED 1 /* the syscall returned EINPROGRESS */
#define CONNECT_SETTLED 2  /* the socket left SYN_SENT */

struct connecting {
	__u64 ts;
	__u64 start_ns;
	__u64 phase; /* CONNECT_* bits (64 bits: atomics of fewer need cpu v3) */
	__u32 pid;
	__u32 tid;
	__s32 err;   /* at SETTLED: 0 connected, else the socket's error */
	__u32 tcp_state;
	__u32 record_flags;
	__s32 fd;
	__u32 remote_len;
	__u16 family;
	__u16 type;
	__u16 protocol;
	__u16 pad;
	__u32 uid; /* whose allowance it takes */
	__u32 pad2;
	char comm[COMM_LEN];
	__u8 remote[SOCKADDR_LEN];
};

/* Connects in flight: a socket stays until its connect is settled (refused,
 * timed out, connected, or closed: TCP gives up on one in SYN_SENT within
 * about two minutes) and its syscall has returned. Not an LRU: any user can
 * hold thousands of sockets in SYN_SENT, and an eviction would silently
 * lose another's outcome; and each user may hold at most a quarter of it,
 * so that one cannot blind the tool to the others. A connect that finds no
 * room is counted in lost[LOST_NET] if it returns EINPROGRESS, and its
 * record says its outcome is not followed (FLAG_UNFOLLOWED). */
#define MAX_CONNECTING 16384
#define MAX_CONNECTING_PER_UID (MAX_CONNECTING / 4)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CONNECTING);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64); /* struct sock * */
	__type(value, struct connecting);
} connecting SEC(".maps");

/* Entries of `connecting` per user. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} connecting_uids SEC(".maps");

struct net_event _net_event = {};
struct connecting _connecting = {};

/* The socket behind descriptor `fd`, or NULL if it is not one. */
static __always_inline struct sock *fd_sock(struct task_struct *task, long fd)
{
	struct file *file = fd_file(task, fd);
	struct socket *sock;

	if (!file || (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	return BPF_CORE_READ(sock, sk);
}

/* `uid`'s count of connects in flight, made if need be; NULL if even that
 * map is full. */
static __always_inline __u64 *uid_connects(__u32 uid)
{
	__u64 zero = 0, *n = bpf_map_lookup_elem(&connecting_uids, &uid);

	if (n)
		return n;
	bpf_map_update_elem(&connecting_uids, &uid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&connecting_uids, &uid);
}

/* Done with a connect in flight: its entry, and its user's count if this
 * call removed it (two removing it at once count it down once). */
static __always_inline void forget_connect(__u64 key, struct connecting *c)
{
	__u32 uid = c->uid;
	__u64 *n;

	if (bpf_map_delete_elem(&connecting, &key))
		return;
	n = bpf_map_lookup_elem(&connecting_uids, &uid);
	if (n)
		__sync_fetch_and_add(n, -1);
}

/* A connect whose record is lost: its socket's entry, if it is its own
 * (not an earlier connect's), is done with. */
static __always_inline void forget_own_connect(struct inflight *st)
{
	__u64 key = st->sk;
	struct connecting *c;

	if (st->call != CALL_CONNECT || !key)
		return;
	c = bpf_map_lookup_elem(&connecting, &key);
	if (c && c->ts == st->ts)
		forget_connect(key, c);
}

/* A socket's own address (`peer` false) or its peer's, as the struct
 * sockaddr getsockname or getpeername would give, into out; its length, 0
 * if it has none. */
static __always_inline __u32 sock_name(struct sock *sk, __u8 *out, bool peer)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family == AF_INET) {
		struct sockaddr_in *sin = (void *)out;

		sin->sin_family = AF_INET;
		if (peer) {
			sin->sin_port = BPF_CORE_READ(sk, __sk_common.skc_dport);
			sin->sin_addr.s_addr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		} else {
			sin->sin_port = bpf_htons(BPF_CORE_READ(sk, __sk_common.skc_num));
			sin->sin_addr.s_addr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		}
		return sizeof(*sin);
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (void *)out;

		sin6->sin6_family = AF_INET6;
		if (peer) {
			sin6->sin6_port = BPF_CORE_READ(sk, __sk_common.skc_dport);
			BPF_CORE_READ_INTO(&sin6->sin6_addr, sk, __sk_common.skc_v6_daddr);
		} else {
			sin6->sin6_port = bpf_htons(BPF_CORE_READ(sk, __sk_common.skc_num));
			BPF_CORE_READ_INTO(&sin6->sin6_addr, sk, __sk_common.skc_v6_rcv_saddr);
		}
		return sizeof(*sin6);
	}
	if (family == AF_UNIX) {
		struct unix_sock *u = (void *)sk;
		struct unix_address *addr;
		__u32 len;

		if (peer)
			u = (void *)BPF_CORE_READ(u, peer);
		addr = u ? BPF_CORE_READ(u, addr) : NULL;
		if (!addr) {
			/* Unnamed (not bound): the family alone, as the
			 * kernel's getsockname gives it. */
			*(__u16 *)out = AF_UNIX;
			return sizeof(__u16);
		}
		len = BPF_CORE_READ(addr, len);
		if (len > sizeof(struct sockaddr_un))
			len = sizeof(struct sockaddr_un);
		if (bpf_probe_read_kernel(out, len & (SOCKADDR_LEN - 1), &addr->name))
			return 0;
		return len & (SOCKADDR_LEN - 1);
	}
	return 0;
}

/* `len` bytes of a process's struct sockaddr at `uaddr` into out: its
 * length kept, cut at SOCKADDR_LEN, or 0 and a flag if unreadable. */
static __always_inline __u32 user_sockaddr(__u8 *out, __u64 uaddr, __u64 addrlen, __u32 *flags)
{
	/* The kernel takes the length as an int: so does this. */
	int len = (int)addrlen;

	if (!uaddr || len <= 0)
		return 0;
	if (len > SOCKADDR_LEN) {
		*flags |= FLAG_ADDR_TRUNCATED;
		len = SOCKADDR_LEN;
	}
	if (bpf_probe_read_user(out, len & (SOCKADDR_LEN - 1) ?: SOCKADDR_LEN, (void *)uaddr)) {
		*flags |= FLAG_ADDR_UNREADABLE;
		return 0;
	}
	return len;
}

/* sendmsg's destination: msg_name and msg_namelen of its struct msghdr (or
 * i386's compat_msghdr, with 32-bit pointers). */
static __always_inline void msghdr_name(__u64 msg, bool compat, __u64 *name, __u64 *len)
{
	*name = 0;
	*len = 0;
	if (compat) {
		__u32 field[2] = {};

		if (bpf_probe_read_user(field, sizeof(field), (void *)msg) == 0) {
			*name = field[0];
			*len = field[1];
		}
		return;
	}
	if (bpf_probe_read_user(name, sizeof(*name), (void *)msg) == 0)
		bpf_probe_read_user(len, sizeof(__u32), (void *)(msg + 8));
	*len = (__u32)*len;
}

/* i386's socketcall: the call it makes and its arguments, read from the
 * array the process passed, in place of the multiplexer's; false for the
 * calls this does not follow. */
static __always_inline bool socketcall_args(struct inflight *st)
{
	__u32 args[6] = {};
	__u32 call;

	switch (st->args[0]) {
	case SYS_CONNECT:
		call = CALL_CONNECT;
		break;
	case SYS_ACCEPT:
		call = CALL_ACCEPT;
		break;
	case SYS_ACCEPT4:
		call = CALL_ACCEPT4;
		break;
	case SYS_BIND:
		call = CALL_BIND;
		break;
	case SYS_LISTEN:
		call = CALL_LISTEN;
		break;
	case SYS_SENDTO:
		call = CALL_SENDTO;
		break;
	case SYS_SENDMSG:
		call = CALL_SENDMSG;
		break;
	default:
		return false;
	}
	/* The kernel copies as many as the call takes: read what can be. */
	if (bpf_probe_read_user(args, sizeof(args), (void *)st->args[1]) &&
	    bpf_probe_read_user(args, 3 * sizeof(__u32), (void *)st->args[1]))
		return false;
	for (int i = 0; i < 6; i++)
		st->args[i] = args[i];
	st->call = call;
	return true;
}

/* At a socket call's entry, its arguments already in st: false to follow it
 * no further (a send to a connected socket, a socketcall of another call).
 * A TCP connect's socket is remembered, to follow it to its outcome. */
static __noinline bool net_enter(struct task_struct *task, struct inflight *st)
{
	struct connecting c = {}, *old;
	struct sock *sk;
	__u64 key, *n;

	if (st->call == CALL_SOCKETCALL && !socketcall_args(st))
		return false;
	if (st->call == CALL_SENDTO)
		return st->args[4] != 0;
	if (st->call == CALL_SENDMSG) {
		/* Read once, as the kernel does at the call's start: the exit
		 * reads the destination where this found it, whatever another
		 * thread writes into the msghdr meanwhile. Kept where sendto
		 * has its own (sendmsg takes three arguments). */
		msghdr_name(st->args[1], st->compat, &st->args[4], &st->args[5]);
		return st->args[4] != 0;
	}
	if (st->call != CALL_CONNECT)
		return true;
	sk = fd_sock(task, st->args[0]);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return true;
	/* The socket it is, whatever another thread does to the fd. */
	st->sk = (__u64)sk;
	key = (__u64)sk;
	old = bpf_map_lookup_elem(&connecting, &key);
	if (old) {
		/* A connect again while one is in progress (EALREADY) leaves
		 * the first one followed. */
		if (BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_SYN_SENT)
			return true;
		/* Else a socket freed at this address left it: stale. */
		forget_connect(key, old);
	}
	c.ts = st->ts;
	c.start_ns = task->group_leader->start_boottime;
	c.pid = task_tgid(task);
	c.tid = task_tid(task);
	c.fd = st->args[0];
	c.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	c.type = BPF_CORE_READ(sk, sk_type);
	c.protocol = IPPROTO_TCP;
	c.record_flags = st->compat ? FLAG_COMPAT : 0;
	c.uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(&c.comm, sizeof(c.comm));
	n = uid_connects(c.uid);
	if (!n || *n >= MAX_CONNECTING_PER_UID)
		return true; /* not followed: said at its exit */
	if (bpf_map_update_elem(&connecting, &key, &c, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(n, 1);
	return true;
}

/* The socket's family, type and protocol, and its own address. */
static __always_inline void net_socket(struct net_event *e, struct sock *sk)
{
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->type = BPF_CORE_READ(sk, sk_type);
	e->protocol = BPF_CORE_READ(sk, sk_protocol);
	e->local_len = sock_name(sk, e->local, false);
}

/* A connect's outcome, once both its syscall returned EINPROGRESS and TCP
 * settled it. */
static __always_inline void send_outcome(struct connecting *c, __u64 now)
{
	struct net_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_lost(LOST_NET);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = EVENT_NET;
	e->pid = c->pid;
	e->tid = c->tid;
	e->call = CALL_CONNECT;
	e->ret = c->err;
	e->record_flags = c->record_flags | FLAG_OUTCOME;
	e->ts = c->ts;
	e->duration_ns = now - c->ts;
	e->start_ns = c->start_ns;
	__builtin_memcpy(e->comm, c->comm, sizeof(e->comm));
	e->fd = c->fd;
	e->family = c->family;
	e->type = c->type;
	e->protocol = c->protocol;
	e->tcp_state = c->tcp_state;
	e->remote_len = c->remote_len;
	__builtin_memcpy(e->remote, c->remote, sizeof(e->remote));
	bpf_ringbuf_submit(e, wakeup_flags(sizeof(*e), true));
}

/* A connect's exit: done with its socket's entry unless it is in progress,
 * in which case the outcome goes out now if TCP has settled it already. */
static __always_inline void connect_returned(struct net_event *e, struct sock *sk, long ret)
{
	__u64 key = (__u64)sk;
	struct connecting *c = bpf_map_lookup_elem(&connecting, &key);

	if (!c || c->pid != e->pid || c->ts != e->ts) {
		/* Not followed: no room was left for it (counted lost), or
		 * not TCP (MPTCP, SCTP, vsock), whose outcome this cannot see. */
		if (ret == -EINPROGRESS) {
			e->record_flags |= FLAG_UNFOLLOWED;
			if (e->protocol == IPPROTO_TCP)
				count_lost(LOST_NET);
		}
		return;
	}
	if (ret != -EINPROGRESS) {
		forget_connect(key, c);
		return;
	}
	__builtin_memcpy(c->remote, e->remote, sizeof(c->remote));
	c->remote_len = e->remote_len;
	if (__sync_fetch_and_or(&c->phase, CONNECT_RETURNED) & CONNECT_SETTLED) {
		send_outcome(c, bpf_ktime_get_ns());
		forget_connect(key, c);
	}
}

/* A socket call, at its exit. */
static __noinline void net_exit(struct task_struct *task, struct inflight *st, long ret)
{
	struct net_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u32 flags = st->compat ? FLAG_COMPAT : 0;
	struct sock *sk = NULL;

	if (!e) {
		count_lost(LOST_NET);
		forget_own_connect(st);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = EVENT_NET;
	e->pid = task_tgid(task);
	e->tid = task_tid(task);
	e->call = st->call;
	e->ret = ret;
	e->ts = st->ts;
	e->duration_ns = bpf_ktime_get_ns() - st->ts;
	e->start_ns = task->group_leader->start_boottime;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	e->fd = st->args[0];
	switch (st->call) {
	case CALL_ACCEPT:
	case CALL_ACCEPT4:
		/* The peer, from the new socket: also when the process asked
		 * for no address. The listening socket says nothing of it. */
		sk = ret >= 0 ? fd_sock(task, ret) : fd_sock(task, st->args[0]);
		if (sk && ret >= 0)
			e->remote_len = sock_name(sk, e->remote, true);
		break;
	case CALL_CONNECT:
		/* The socket entered with, whatever another thread did to the
		 * fd since; else (not TCP) the fd's now. */
		if (st->sk)
			sk = (struct sock *)st->sk;
		e->remote_len = user_sockaddr(e->remote, st->args[1], st->args[2], &flags);
		/* Where it connects, as the kernel took it: another thread may
		 * have rewritten the address passed since. */
		if (sk && (ret == 0 || ret == -EINPROGRESS) &&
		    BPF_CORE_READ(sk, __sk_common.skc_family) != AF_UNIX) {
			__u32 len = sock_name(sk, e->remote, true);

			if (len)
				e->remote_len = len;
		}
		break;
	case CALL_BIND:
		/* Its own address is the socket's, below (port 0 is a port the
		 * kernel chose); as passed only where the socket has none. */
		e->remote_len = user_sockaddr(e->remote, st->args[1], st->args[2], &flags);
		break;
	case CALL_LISTEN:
		e->backlog = st->args[1];
		break;
	case CALL_SENDTO:
	case CALL_SENDMSG: /* its msghdr's, read at entry */
		e->remote_len = user_sockaddr(e->remote, st->args[4], st->args[5], &flags);
		break;
	}
	if (!sk)
		sk = fd_sock(task, st->args[0]);
	if (sk)
		net_socket(e, sk);
	e->record_flags = flags;
	if (st->call == CALL_CONNECT && sk)
		connect_returned(e, sk, ret);
	else if (st->call == CALL_CONNECT && ret == -EINPROGRESS)
		e->record_flags |= FLAG_UNFOLLOWED;
	bpf_ringbuf_submit(e, wakeup_flags(sizeof(*e), true));
}

/* TCP's state changes: a connect in flight leaving SYN_SENT is settled:
 * connected, or closed (refused, timed out, or closed by the process). A
 * simultaneous open goes through SYN_RECV first: settled after it. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(net_state, struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;
	struct connecting *c;

	if ((oldstate != TCP_SYN_SENT && oldstate != TCP_SYN_RECV) || newstate == TCP_SYN_RECV)
		return 0;
	c = bpf_map_lookup_elem(&connecting, &key);
	if (!c)
		return 0;
	c->tcp_state = newstate;
	c->err = newstate == TCP_ESTABLISHED ? 0 : -BPF_CORE_READ(sk, sk_err);
	if (__sync_fetch_and_or(&c->phase, CONNECT_SETTLED) & CONNECT_RETURNED) {
		send_outcome(c, bpf_ktime_get_ns());
		forget_connect(key, c);
	}
	return 0;
}

#endif /* NET_BPF_H */
