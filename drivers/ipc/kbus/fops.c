// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - file operations: the userspace interface
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * This is the only unit that touches user memory.  It copies arguments in,
 * checks them, calls the typed functions of the other units, and copies
 * results out.  The bus lock is never held while a copy may fault: user
 * memory is only written under it with page faults disabled (a send's
 * id).
 */

#include "common.h"

#include <linux/build_bug.h>
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/kbus.h>
#include <linux/mount.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/unroll.h>

#include "account.h"
#include "bind.h"
#include "core.h"
#include "event.h"
#include "fops.h"
#include "fs.h"
#include "msg.h"
#include "reply.h"
#include "send.h"

/* The layout is the same for 32-bit and 64-bit processes. */
static void build_check_abi(void)
{
	BUILD_BUG_ON(sizeof(struct kbus_msg_id) != 8);
	BUILD_BUG_ON(sizeof(struct kbus_orig_from) != 8);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, id) != 4);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, in_reply_to) != 12);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, to) != 20);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, from) != 24);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, orig_from) != 28);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, final_to) != 36);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, extra) != 44);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, flags) != 48);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, name_len) != 52);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, data_len) != 56);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, __reserved0) != 60);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, name) != 64);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, data) != 72);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, end_guard) != 80);
	BUILD_BUG_ON(offsetof(struct kbus_message_header, __reserved1) != 84);
	BUILD_BUG_ON(sizeof(struct kbus_message_header) != 88);
	BUILD_BUG_ON(sizeof(struct kbus_entire_message) != 88);
	BUILD_BUG_ON(sizeof(struct kbus_replier_bind_event_data) != 12);
	BUILD_BUG_ON(KBUS_ENTIRE_MSG_LEN(6, 0) != 100);
	BUILD_BUG_ON(KBUS_ENTIRE_MSG_LEN(6, 4) != 104);

	BUILD_BUG_ON(sizeof(struct kbus_bind) != KBUS_BIND_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct kbus_bind, name_ptr) != 8);
	BUILD_BUG_ON(offsetof(struct kbus_bind, __reserved) != 20);
	BUILD_BUG_ON(sizeof(struct kbus_replier) != KBUS_REPLIER_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct kbus_replier, replier_id) != 20);
	BUILD_BUG_ON(sizeof(struct kbus_send) != KBUS_SEND_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct kbus_send, msg_ptr) != 8);
	BUILD_BUG_ON(offsetof(struct kbus_send, id) != 24);
	BUILD_BUG_ON(sizeof(struct kbus_recv) != KBUS_RECV_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct kbus_recv, buf_ptr) != 8);
	BUILD_BUG_ON(offsetof(struct kbus_recv, pid) != 24);
	BUILD_BUG_ON(offsetof(struct kbus_recv, __reserved) != 36);
	BUILD_BUG_ON(sizeof(struct kbus_ksock_info) != KBUS_INFO_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct kbus_ksock_info, dropped) != 32);
	BUILD_BUG_ON(sizeof(struct kbus_option) != KBUS_OPTION_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct kbus_option, value) != 16);
	BUILD_BUG_ON(sizeof(struct kbus_bus_ctl) != KBUS_BUS_CTL_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct kbus_cancel) != KBUS_CANCEL_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct kbus_cancel, id) != 8);
	BUILD_BUG_ON(sizeof(struct kbus_sendrecv) != KBUS_SENDRECV_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct kbus_sendrecv, recv_ptr) != 16);

	/* Every status fits the spare allocated with each request. */
	BUILD_BUG_ON(sizeof(KBUS_MSG_NAME_REPLIER_GONEAWAY) > KBUS_SYNTH_NAME_MAX);
	BUILD_BUG_ON(sizeof(KBUS_MSG_NAME_REPLIER_IGNORED) > KBUS_SYNTH_NAME_MAX);
	BUILD_BUG_ON(sizeof(KBUS_MSG_NAME_REPLIER_UNBOUND) > KBUS_SYNTH_NAME_MAX);
	BUILD_BUG_ON(sizeof(KBUS_MSG_NAME_UNBIND_EVENTS_LOST) >
		     KBUS_SYNTH_NAME_MAX);
}

/*
 * A bus of a kbus filesystem is the inode's, which the file pins; a bus of
 * /dev is found through its cdev and kept by its device.
 */
static struct kbus_bus *kbus_inode_bus(struct inode *inode)
{
	if (inode->i_sb->s_type == &kbus_fs_type)
		return inode->i_private;
	return container_of(inode->i_cdev, struct kbus_bus, cdev);
}

static int kbus_open(struct inode *inode, struct file *file)
{
	struct kbus_bus *bus = kbus_inode_bus(inode);
	struct kbus_ksock *ks;

	build_check_abi();
	if (bus->registered)
		get_device(&bus->dev);
	ks = kbus_ksock_create(bus, false);
	if (IS_ERR(ks)) {
		if (bus->registered)
			put_device(&bus->dev);
		return PTR_ERR(ks);
	}
	file->private_data = ks;
	return stream_open(inode, file);
}

static int kbus_release(struct inode *inode, struct file *file)
{
	struct kbus_ksock *ks = file->private_data;
	struct kbus_bus *bus = ks->bus;

	kbus_ksock_release(ks);
	if (bus->registered)
		put_device(&bus->dev);
	return 0;
}

/*
 * Within a user access opened with masked_user_access_begin(), read @len
 * bytes from the masked user address @src to @dst a word at a time, as
 * strncpy_from_user() reads, and the last few in at most three reads.
 * The loop counts words by index: each read of a word then costs a load,
 * a store and the test of the fault (gcc versions whose asm goto cannot
 * have outputs report a fault in a register).  Returns false on a fault.
 */
static __always_inline bool unsafe_get_small(void *dst,
					     const void __user *src,
					     size_t len)
{
	const unsigned long __user *s = src;
	size_t i, words = len / sizeof(*s);
	unsigned long word, *d = dst;
	const u8 __user *st;
	u8 *dt;
	u32 w4;
	u16 w2;

	for (i = 0; i < words; i++) {
		unsafe_get_user(word, s + i, efault);
		put_unaligned(word, d + i);
	}
	st = (const u8 __user *)(s + words);
	dt = (u8 *)(d + words);
	len %= sizeof(*s);
	if (len & 4) {
		unsafe_get_user(w4, (const u32 __user *)st, efault);
		put_unaligned(w4, (u32 *)dt);
		st += 4;
		dt += 4;
	}
	if (len & 2) {
		unsafe_get_user(w2, (const u16 __user *)st, efault);
		put_unaligned(w2, (u16 *)dt);
		st += 2;
		dt += 2;
	}
	if (len & 1)
		unsafe_get_user(*dt, st, efault);
	return true;
efault:
	return false;
}

/*
 * The arguments of %KBUS_IOC_SENDMSG and %KBUS_IOC_RECVMSG and a message
 * header, the structs every message goes through, are read and written a
 * word at a time with the loop unrolled: a load and a store a word (and
 * on read, the test of the fault), where the loop around them would take
 * twice as many instructions.
 */
#define SEND_ARG_WORDS	4
#define RECV_ARG_WORDS	5
#define HDR_WORDS	11
static_assert(sizeof(struct kbus_send) == SEND_ARG_WORDS * sizeof(u64));
static_assert(sizeof(struct kbus_recv) == RECV_ARG_WORDS * sizeof(u64));
static_assert(sizeof(struct kbus_message_header) == HDR_WORDS * sizeof(u64));

/*
 * The steps UNROLL() pastes one after the other: each a statement, with
 * its semicolon.  gcc does not unroll these loops itself.
 */
#define GET_WORD(i, d, s, label)	unsafe_get_user((d)[i], (s) + (i), label);
#define PUT_WORD(i, d, s, label)	unsafe_put_user((s)[i], (d) + (i), label);

/* As unsafe_get_small(), for the argument of a %KBUS_IOC_SENDMSG. */
static __always_inline bool unsafe_get_send_arg(struct kbus_send *args,
						const void __user *src)
{
	const u64 __user *s = src;
	u64 *d = (u64 *)args;

	UNROLL(SEND_ARG_WORDS, GET_WORD, d, s, efault)
	return true;
efault:
	return false;
}

/* As unsafe_get_small(), for the argument of a %KBUS_IOC_RECVMSG. */
static __always_inline bool unsafe_get_recv_arg(struct kbus_recv *args,
						const void __user *src)
{
	const u64 __user *s = src;
	u64 *d = (u64 *)args;

	UNROLL(RECV_ARG_WORDS, GET_WORD, d, s, efault)
	return true;
efault:
	return false;
}

/* As unsafe_get_small(), for a message header. */
static __always_inline bool unsafe_get_hdr(struct kbus_message_header *h,
					   const void __user *src)
{
	const u64 __user *s = src;
	u64 *d = (u64 *)h;

	UNROLL(HDR_WORDS, GET_WORD, d, s, efault)
	return true;
efault:
	return false;
}

/*
 * Within a user access, write the message header @h to @dst; false on a
 * fault.
 */
static __always_inline bool unsafe_put_hdr(void __user *dst,
					   const struct kbus_message_header *h)
{
	const u64 *s = (const u64 *)h;
	u64 __user *d = dst;

	UNROLL(HDR_WORDS, PUT_WORD, d, s, efault)
	return true;
efault:
	return false;
}

/*
 * Copy @len bytes in from @src, as copy_from_user() does.  Where user
 * addresses can be masked rather than checked (x86_64), a copy of up to
 * %KBUS_INLINE_COPY_MAX bytes (an argument struct, a header, a short name
 * or body) is read with unsafe_get_small() in one user access: for so
 * few words, the start-up of the string copy (``rep movsb``) behind
 * copy_from_user() is most of its cost.  On a fault, @dst may be partly
 * written: callers discard it.  Returns 0 or -EFAULT.
 */
static int copy_small_from_user(void *dst, const void __user *src,
				size_t len)
{
	if (!can_do_masked_user_access() || len > KBUS_INLINE_COPY_MAX)
		return copy_from_user(dst, src, len) ? -EFAULT : 0;
	might_fault();
	if (should_fail_usercopy())
		return -EFAULT;
	check_object_size(dst, len, false);
	src = masked_user_access_begin(src);
	if (!unsafe_get_small(dst, src, len))
		goto efault;
	user_read_access_end();
	return 0;
efault:
	user_read_access_end();
	return -EFAULT;
}

/*
 * As copy_small_from_user() for two pieces (a pointy message's name and
 * data), in a single user access when both are small: each user access
 * opened and closed (``stac``, ``clac``) costs about as much as a short
 * copy.
 */
static int copy_two_small_from_user(void *dst1, const void __user *src1,
				    size_t len1, void *dst2,
				    const void __user *src2, size_t len2)
{
	if (!can_do_masked_user_access() || len1 > KBUS_INLINE_COPY_MAX ||
	    len2 > KBUS_INLINE_COPY_MAX)
		return copy_small_from_user(dst1, src1, len1) ?:
		       copy_small_from_user(dst2, src2, len2);
	might_fault();
	if (should_fail_usercopy())
		return -EFAULT;
	check_object_size(dst1, len1, false);
	check_object_size(dst2, len2, false);
	src2 = mask_user_address(src2);
	src1 = masked_user_access_begin(src1);
	if (!unsafe_get_small(dst1, src1, len1) ||
	    !unsafe_get_small(dst2, src2, len2))
		goto efault;
	user_read_access_end();
	return 0;
efault:
	user_read_access_end();
	return -EFAULT;
}

/* get_sized_arg() for a struct of another size than this kernel's. */
static int get_sized_arg_other(void *dst, size_t ksize, size_t min_size,
			       const void __user *uarg)
{
	u32 usize;
	int err;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize < min_size)
		return -EINVAL;
	/* As openat2() and clone3(): nothing larger than a page. */
	if (usize > PAGE_SIZE)
		return -E2BIG;
	err = copy_struct_from_user(dst, ksize, uarg, usize);
	return err ? err : usize;
}

/*
 * Read a size-first argument struct: its @size field, then as much of it
 * as both sides know (copy_struct_from_user()).  A valid struct is at
 * least @min_size bytes long, so those are read at once, @size with them:
 * for the struct this kernel knows, that single user access is all, and
 * is made inline, with copy_small_from_user() the only call (the ioctls
 * that carry messages make one per message).  If they cannot all be
 * read, the size alone decides between -EINVAL and -EFAULT, as it does
 * when read first.
 */
static __always_inline int get_sized_arg(void *dst, size_t ksize,
					 size_t min_size,
					 const void __user *uarg)
{
	u32 usize;

	if (!copy_small_from_user(dst, uarg, min_size)) {
		memcpy(&usize, dst, sizeof(usize));
		if (usize == ksize && usize == min_size)
			return usize;
	}
	return get_sized_arg_other(dst, ksize, min_size, uarg);
}

/*
 * Write back an argument struct read with get_sized_arg(): as much of it
 * as the caller's struct (of @usize bytes) holds.
 */
static int put_sized_arg(void __user *uarg, const void *src, size_t ksize,
			 int usize)
{
	return copy_to_user(uarg, src, min_t(size_t, ksize, usize)) ?
	       -EFAULT : 0;
}

/* Whether the opener of @file may change @bus's bus-wide settings. */
static bool may_admin(struct file *file, struct kbus_bus *bus)
{
	return file_ns_capable(file, bus->user_ns, CAP_SYS_ADMIN);
}

/* ---- Names and bindings ---- */

/* Copy a name argument in and check it. */
static char *get_name(u64 uname, u32 len, bool wildcard_ok)
{
	char *name;

	if (!len)
		return ERR_PTR(-EBADMSG);
	if (len > KBUS_MAX_NAME_LEN)
		return ERR_PTR(-ENAMETOOLONG);
	name = memdup_user_nul(u64_to_user_ptr(uname), len);
	if (IS_ERR(name))
		return name;
	if (!kbus_name_valid(name, len, wildcard_ok)) {
		kfree(name);
		return ERR_PTR(-EBADMSG);
	}
	return name;
}

static long ioc_bind(struct file *file, struct kbus_ksock *ks,
		     const void __user *uarg, bool bind)
{
	struct kbus_bind args;
	bool is_replier;
	char *name;
	long err;

	err = get_sized_arg(&args, sizeof(args), KBUS_BIND_SIZE_VER0, uarg);
	if (err < 0)
		return err;
	if ((args.flags & ~KBUS_BIND_FLAGS) || args.__reserved)
		return -EINVAL;
	/* What a binding brings in must be received: reading too. */
	if (!(file->f_mode & FMODE_WRITE) ||
	    (bind && !(file->f_mode & FMODE_READ)))
		return -EBADF;
	is_replier = args.flags & KBUS_BIND_REPLIER;
	name = get_name(args.name_ptr, args.name_len, true);
	if (IS_ERR(name))
		return PTR_ERR(name);
	if (bind && is_replier &&
	    !strcmp(name, KBUS_MSG_NAME_REPLIER_BIND_EVENT)) {
		err = -EBADMSG;
		goto out_free;
	}

	err = -EINTR;
	if (kbus_bus_lock_sleepable_killable(ks->bus))
		goto out_free;
	if (bind)
		err = kbus_bind_report_locked(ks, name, args.name_len,
					      is_replier);
	else
		err = kbus_unbind_report_locked(ks, name, args.name_len,
						is_replier);
	kbus_bus_unlock_sleepable(ks->bus);
	kbus_dbg(ks->bus, "ksock %u %s %s %s: %ld\n", ks->id,
		 bind ? "bind" : "unbind", is_replier ? "replier" : "listener",
		 name, err);
out_free:
	kfree(name);
	return err;
}

static long ioc_replier(struct kbus_ksock *ks, struct kbus_replier __user *uarg)
{
	struct kbus_replier args;
	struct kbus_binding *b;
	char *name;
	int err;

	err = get_sized_arg(&args, sizeof(args), KBUS_REPLIER_SIZE_VER0, uarg);
	if (err < 0)
		return err;
	if (args.flags || args.replier_id)
		return -EINVAL;
	name = get_name(args.name_ptr, args.name_len, true);
	if (IS_ERR(name))
		return PTR_ERR(name);

	kbus_bus_lock(ks->bus);
	if (kbus_name_valid(name, args.name_len, false))
		b = kbus_replier_for_locked(ks->bus, name, args.name_len);
	else
		b = kbus_replier_exact_locked(ks->bus, name, args.name_len);
	args.replier_id = b ? b->ksock->id : 0;
	kbus_bus_unlock(ks->bus);
	kfree(name);

	return put_user(args.replier_id, &uarg->replier_id);
}

/* ---- Sending ---- */

/*
 * Check a message header: its guards, fields and size.  Inlined:
 * send_read_fast() makes the checks within a user access.
 */
static __always_inline int check_hdr(struct kbus_bus *bus,
				     const struct kbus_message_header *h)
{
	u64 len;

	if (h->start_guard != KBUS_MSG_START_GUARD ||
	    h->end_guard != KBUS_MSG_END_GUARD)
		return -EINVAL;
	if (h->extra || h->__reserved0 || h->__reserved1)
		return -EINVAL;
	if (h->flags & KBUS_FLAGS_KERNEL_HALF & ~KBUS_FLAGS_KNOWN)
		return -EINVAL;
	if (!h->name_len)
		return -EINVAL;
	if (h->name_len > KBUS_MAX_NAME_LEN)
		return -ENAMETOOLONG;
	if (!h->name && h->data)
		return -EINVAL;
	if (h->name && !h->data && h->data_len)
		return -EINVAL;
	if (!h->data_len && h->data)
		return -EINVAL;
	if ((h->flags & KBUS_BIT_ALL_OR_WAIT) &&
	    (h->flags & KBUS_BIT_ALL_OR_FAIL))
		return -EINVAL;
	if ((h->flags & KBUS_BIT_WANT_A_REPLY) &&
	    (h->in_reply_to.network_id || h->in_reply_to.serial_num))
		return -EINVAL;

	len = KBUS_ENTIRE_MSG_LEN((u64)h->name_len, (u64)h->data_len);
	if (len > READ_ONCE(bus->max_msg_size))
		return -EMSGSIZE;
	return 0;
}

/*
 * Copy the header fields a sender controls into a message, and record who
 * sends it.
 */
static void fill_msg(struct kbus_msg *msg, const struct kbus_message_header *h)
{
	msg->pid = get_pid(task_tgid(current));
	msg->uid = current_euid();
	msg->gid = current_egid();
	msg->id = h->id;
	msg->in_reply_to = h->in_reply_to;
	msg->to = h->to;
	msg->orig_from = h->orig_from;
	msg->final_to = h->final_to;
	msg->flags = h->flags & ~(KBUS_BIT_SYNTHETIC |
				  KBUS_BIT_WANT_YOU_TO_REPLY);
}

/*
 * Build the message of a pointy header: copy its name and data in.  The
 * first @got bytes of the name then the data were read with the header,
 * to @rest: none of them, the name, or the name and the data.
 */
static struct kbus_msg *pointy_msg(const struct kbus_message_header *h,
				   const u8 *rest, u32 got)
{
	const void __user *udata = u64_to_user_ptr(h->data);
	struct kbus_msg *msg;
	int err = 0;

	msg = kbus_msg_alloc(h->name_len, h->data_len);
	if (IS_ERR(msg))
		return msg;
	if (!got) {
		err = copy_two_small_from_user(msg->body,
					       u64_to_user_ptr(h->name),
					       h->name_len, kbus_msg_data(msg),
					       udata, h->data_len);
	} else {
		memcpy(msg->body, rest, h->name_len);
		if (got > h->name_len)
			memcpy(kbus_msg_data(msg), rest + h->name_len,
			       h->data_len);
		else if (h->data_len)
			err = copy_small_from_user(kbus_msg_data(msg), udata,
						   h->data_len);
	}
	if (err) {
		kbus_msg_put(msg);
		return ERR_PTR(err);
	}
	if (!kbus_name_valid(msg->body, h->name_len, false)) {
		kbus_msg_put(msg);
		return ERR_PTR(-EBADMSG);
	}
	kbus_msg_seal(msg);
	return msg;
}

/*
 * Build the message of an entire message of @len bytes at @umsg.  Its
 * body is at @body if it was read with the header, else read from @umsg.
 */
static struct kbus_msg *entire_msg(const struct kbus_message_header *h,
				   const void __user *umsg, u32 len,
				   const u8 *body)
{
	struct kbus_msg *msg;
	u32 guard;
	int err;

	if (len != KBUS_ENTIRE_MSG_LEN((u64)h->name_len, (u64)h->data_len))
		return ERR_PTR(-EINVAL);
	msg = kbus_msg_alloc(h->name_len, h->data_len);
	if (IS_ERR(msg))
		return msg;
	err = -EFAULT;
	if (body)
		memcpy(msg->body, body, kbus_msg_body_len(msg));
	else if (copy_from_user(msg->body, umsg + sizeof(*h),
				kbus_msg_body_len(msg)))
		goto err_put;
	err = -EBADMSG;
	if (!kbus_name_valid(msg->body, h->name_len, false))
		goto err_put;
	err = -EINVAL;
	memcpy(&guard, msg->body + kbus_msg_body_len(msg) - sizeof(guard),
	       sizeof(guard));
	if (guard != KBUS_MSG_END_GUARD)
		goto err_put;
	kbus_msg_seal(msg);
	return msg;

err_put:
	kbus_msg_put(msg);
	return ERR_PTR(err);
}

/*
 * An entire message of at most this many bytes, a small one, is read with
 * its header in one user access, onto the stack; so is the name of a
 * pointy header if it fits after the header, and its data if that fits
 * after the name.
 */
#define SEND_ONE_READ_MAX	256

/*
 * What a send reads onto the stack: a header, a small entire message, or
 * a pointy header followed by its name, and its data if they fit.
 */
union send_in {
	struct kbus_message_header h;
	u8 bytes[SEND_ONE_READ_MAX];
};

/*
 * The checks of a %KBUS_IOC_SENDMSG's argument, before its message.
 * Inlined: send_read_fast() makes them within a user access.
 */
static __always_inline int check_send_args(struct file *file,
					   const struct kbus_send *args)
{
	if ((args->flags & ~KBUS_SEND_FLAGS) || args->__reserved ||
	    args->id.network_id || args->id.serial_num)
		return -EINVAL;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	return 0;
}

/*
 * Within the user access of send_read_fast(), read the name of the pointy
 * header @in->h (a message of that header alone) after it, and its data
 * after the name, as much of the two as fits in @in.  Nothing is read for
 * a header that fails check_hdr().  Returns the bytes read (0, the name's
 * or both's), or -EFAULT.
 */
static __always_inline int send_read_pointy(struct kbus_bus *bus,
					    union send_in *in)
{
	const u32 room = sizeof(*in) - sizeof(in->h);
	u32 name_len = in->h.name_len, data_len = in->h.data_len;
	u8 *rest = in->bytes + sizeof(in->h);
	const void __user *src;

	if (check_hdr(bus, &in->h) || name_len > room)
		return 0;
	src = mask_user_address(u64_to_user_ptr(in->h.name));
	if (!unsafe_get_small(rest, src, name_len))
		return -EFAULT;
	if (!data_len || data_len > room - name_len)
		return name_len;
	src = mask_user_address(u64_to_user_ptr(in->h.data));
	if (!unsafe_get_small(rest + name_len, src, data_len))
		return -EFAULT;
	return name_len + data_len;
}

/*
 * Read the argument of a %KBUS_IOC_SENDMSG and its message's header (the
 * whole of a small entire message; a pointy one's name, and data, if they
 * fit) in one user access, where user addresses can be masked, the
 * argument has this kernel's size and passes check_send_args().  Returns
 * the bytes of the message read into @in (for a pointy header, of the
 * header, its name and its data); -EFAULT if a fault was injected (as if
 * the argument could not be read); or 0 if they were not read: then
 * nothing read here is used, and the caller reads each part in turn, for
 * the errors of doing so.
 */
static __always_inline int send_read_fast(struct file *file,
					  struct kbus_bus *bus,
					  struct kbus_send *args,
					  union send_in *in,
					  const struct kbus_send __user *uarg)
{
	const void __user *umsg;
	int rest;
	u32 len;

	if (!can_do_masked_user_access())
		return 0;
	might_fault();
	if (should_fail_usercopy())
		return -EFAULT;
	check_object_size(args, sizeof(*args), false);
	check_object_size(in, sizeof(*in), false);
	uarg = masked_user_access_begin(uarg);
	if (!unsafe_get_send_arg(args, uarg))
		goto out;
	/* Nothing of the message is read for a send that fails before it. */
	if (args->size != sizeof(*args) || check_send_args(file, args) ||
	    args->msg_len < sizeof(in->h))
		goto out;
	len = args->msg_len <= sizeof(*in) ? args->msg_len : sizeof(in->h);
	umsg = mask_user_address(u64_to_user_ptr(args->msg_ptr));
	if (!unsafe_get_hdr(&in->h, umsg) ||
	    !unsafe_get_small(in->bytes + sizeof(in->h), umsg + sizeof(in->h),
			      len - sizeof(in->h)))
		goto out;
	if (in->h.name && args->msg_len == sizeof(in->h)) {
		rest = send_read_pointy(bus, in);
		if (rest < 0)
			goto out;
		len += rest;
	}
	user_read_access_end();
	return len;
out:
	user_read_access_end();
	return 0;
}

/*
 * The message of a %KBUS_IOC_SENDMSG: a pointy header or an entire one of
 * @len bytes at @uptr.  @got bytes of it are in @in already: 0, the
 * header's size, @len for a small entire message, or for a pointy header
 * the header's size plus those of its name, or of its name and its data.
 */
static __always_inline struct kbus_msg *
msg_from_user(struct kbus_bus *bus, u64 uptr, u32 len, union send_in *in,
	      u32 got)
{
	const void __user *umsg = u64_to_user_ptr(uptr);
	struct kbus_message_header *h = &in->h;
	struct kbus_msg *msg;
	int err;

	if (len < sizeof(*h))
		return ERR_PTR(-EINVAL);
	/*
	 * If the whole of a small message cannot be read, the header alone
	 * is, so that the errors are those of reading it in two parts.
	 */
	if (!got) {
		if (len > sizeof(*h) && len <= sizeof(*in) &&
		    !copy_small_from_user(in, umsg, len))
			got = len;
		else if (copy_small_from_user(h, umsg, sizeof(*h)))
			return ERR_PTR(-EFAULT);
	}
	/*
	 * A pointy header read with its name (more than the header read from
	 * a message of the header alone) passed check_hdr() before the name
	 * was read, in send_read_pointy().
	 */
	if (!h->name || len != sizeof(*h) || got <= sizeof(*h)) {
		err = check_hdr(bus, h);
		if (err)
			return ERR_PTR(err);
	}

	if (h->name) {
		if (len != sizeof(*h))
			return ERR_PTR(-EINVAL);
		msg = pointy_msg(h, in->bytes + sizeof(*h),
				 got ? got - sizeof(*h) : 0);
	} else {
		/* The body, if it was read with the header. */
		const u8 *body = got > sizeof(*h) ? in->bytes + sizeof(*h) :
						    NULL;

		msg = entire_msg(h, umsg, len, body);
	}
	if (IS_ERR(msg))
		return msg;
	fill_msg(msg, h);
	/*
	 * Only KBUS sends $.KBUS names, with one exception: the replier that
	 * owes a reply may answer with a status name instead (a bridge
	 * passing on the status its far bus gave), which the reply checks of
	 * the send then hold it to.  It is marked as synthetic, with the
	 * replier as sender, and goes to the requester only.
	 */
	if (kbus_name_reserved(kbus_msg_name(msg), msg->name_len)) {
		if (!(h->in_reply_to.network_id || h->in_reply_to.serial_num) ||
		    !kbus_name_status(kbus_msg_name(msg), msg->name_len)) {
			kbus_msg_put(msg);
			return ERR_PTR(-EPERM);
		}
		msg->flags |= KBUS_BIT_SYNTHETIC;
	}
	return msg;
}

/*
 * Read and check the argument of a %KBUS_IOC_SENDMSG into @args, and build
 * its message.  Not inlined, so that the buffer on its stack is gone
 * before the send.
 */
static noinline_for_stack struct kbus_msg *
sendmsg_from_user(struct file *file, struct kbus_bus *bus,
		  const struct kbus_send __user *uarg, struct kbus_send *args)
{
	/* Not cleared first: only the bytes read in are used. */
	union send_in in __uninitialized;
	int got, err;

	got = send_read_fast(file, bus, args, &in, uarg);
	if (got < 0)
		return ERR_PTR(got);
	if (!got) {
		err = get_sized_arg(args, sizeof(*args), KBUS_SEND_SIZE_VER0,
				    uarg);
		if (err < 0)
			return ERR_PTR(err);
		err = check_send_args(file, args);
		if (err)
			return ERR_PTR(err);
	}
	return msg_from_user(bus, args->msg_ptr, args->msg_len, &in, got);
}

/*
 * Send a message, waiting for room unless @nonblock, and write its id to
 * @uid.  Each attempt takes a new id, so the id of a send that waited says
 * when it was delivered.  A nonblocking send that finds no room records
 * the room sequence it saw, for poll().
 *
 * The id is written under the bus lock without taking page faults
 * (kbus_send_user()).  If that fails, nothing was sent: writing the id
 * here, faults allowed, tells a page that was not mapped in, or is to be
 * copied on write, from one that cannot be written (-EFAULT), and the
 * send is tried again.  The id field is 0 on input (ioc_sendmsg()), so
 * writing 0 only faults its page in.
 */
static int send_blocking(struct kbus_ksock *ks, struct kbus_msg *msg,
			 bool nonblock, struct kbus_msg_id __user *uid)
{
	struct kbus_bus *bus = ks->bus;
	int cancel = atomic_read(&ks->cancel_seq);
	int seq, err;

	for (;;) {
		seq = atomic_read(&bus->room_seq);
		err = kbus_send_user(ks, msg, uid);
		if (err == -EFAULT) {
			if (clear_user(uid, sizeof(*uid)))
				return -EFAULT;
			/* Nothing was sent: safe to restart. */
			if (signal_pending(current))
				return -ERESTARTSYS;
			continue;
		}
		if (err != -EAGAIN)
			break;
		if (nonblock) {
			WRITE_ONCE(ks->blocked_seq, seq);
			/* Pairs with smp_load_acquire() in kbus_writable(). */
			smp_store_release(&ks->send_blocked, true);
			return -EAGAIN;
		}
		/* room_seq moves under the bus lock before each wake-up. */
		if (wait_event_interruptible(bus->write_wait,
					     atomic_read(&bus->room_seq) != seq ||
					     atomic_read(&ks->cancel_seq) != cancel))
			return -ERESTARTSYS;
		if (atomic_read(&ks->cancel_seq) != cancel)
			return -ECANCELED;
	}
	/* The send was decided: it did not wait for room. */
	if (READ_ONCE(ks->send_blocked)) {
		/* Pairs with smp_load_acquire() in kbus_writable(). */
		smp_store_release(&ks->send_blocked, false);
	}
	return err;
}

static long ioc_sendmsg(struct file *file, struct kbus_ksock *ks,
			struct kbus_send __user *uarg)
{
	struct kbus_send args;
	struct kbus_msg *msg;
	bool nonblock;
	int err;

	msg = sendmsg_from_user(file, ks->bus, uarg, &args);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	/* The reply must be received: a request needs reading too. */
	if (kbus_msg_is_request(msg) && !(file->f_mode & FMODE_READ)) {
		kbus_msg_put(msg);
		return -EBADF;
	}
	nonblock = (file->f_flags & O_NONBLOCK) ||
		   (args.flags & KBUS_SEND_NONBLOCK);
	err = send_blocking(ks, msg, nonblock, &uarg->id);
	kbus_msg_put(msg);
	/*
	 * An attempt that failed after writing its id leaves 0 there again;
	 * if the struct has gone meanwhile, nothing was sent all the same.
	 */
	if (err && err != -EFAULT && clear_user(&uarg->id, sizeof(uarg->id)))
		kbus_dbg(ks->bus, "ksock %u: id of a failed send not cleared\n",
			 ks->id);
	return err;
}

static long ioc_cancel(struct kbus_ksock *ks)
{
	atomic_inc(&ks->cancel_seq);
	wake_up_interruptible_all(&ks->bus->write_wait);
	return 0;
}

static long ioc_cancel_request(struct kbus_ksock *ks,
			       const void __user *uarg)
{
	struct kbus_cancel args;
	int err;

	err = get_sized_arg(&args, sizeof(args), KBUS_CANCEL_SIZE_VER0, uarg);
	if (err < 0)
		return err;
	if (args.flags)
		return -EINVAL;
	kbus_bus_lock(ks->bus);
	err = kbus_cancel_request_locked(ks, &args.id);
	kbus_bus_unlock(ks->bus);
	return err;
}

/* ---- Receiving ---- */

/* What recv_head() and recv_take() did. */
enum {
	RECV_AGAIN,		/* nothing taken: look again */
	RECV_TAKEN,		/* received */
	RECV_COPY,		/* to copy out with the bus lock dropped */
	RECV_NEED_OWED,		/* a request: allocate its record first */
};

/* One %KBUS_IOC_RECVMSG: where its message and its answer go. */
struct recv_call {
	void __user *buf;
	u32 buf_len;
	struct kbus_recv __user *uarg;
	bool creds;		/* %KBUS_RECV_CREDS */
	bool probed;		/* the answer's page is known to be writable */
	struct kbus_recv ans;	/* msg_len, then the credentials if asked */
};

/* The answer: the fields of struct kbus_recv that RECVMSG fills in. */
#define RECV_ANSWER_LEN	(offsetofend(struct kbus_recv, gid) - \
			 offsetof(struct kbus_recv, msg_len))

/*
 * Within a user access that covers it, or one opened with
 * masked_user_access_begin() with @u masked, write the answer @ans to @u.
 * Returns false on a fault.
 */
static __always_inline bool unsafe_put_answer(struct kbus_recv __user *u,
					      const struct kbus_recv *ans)
{
	/*
	 * Its four fields in one copy, from a source aligned for it: two
	 * stores on x86_64, one walk of the page tables on UML.
	 */
	const struct {
		u32 v[4];
	} __aligned(8) a = {{ ans->msg_len, ans->pid, ans->uid, ans->gid }};

	BUILD_BUG_ON(sizeof(a) != RECV_ANSWER_LEN);
	unsafe_copy_to_user((char __user *)&u->msg_len, (const char *)&a,
			    sizeof(a), efault);
	return true;
efault:
	return false;
}

/* Write @ans to @u in a user access of its own: false on a fault. */
static __always_inline bool put_answer(struct kbus_recv __user *u,
				       const struct kbus_recv *ans)
{
	if (can_do_masked_user_access())
		u = masked_user_access_begin(u);
	else if (!user_write_access_begin(&u->msg_len, RECV_ANSWER_LEN))
		return false;
	if (!unsafe_put_answer(u, ans))
		goto efault;
	user_write_access_end();
	return true;
efault:
	user_write_access_end();
	return false;
}

/* Write the answer of @call: 0 or -EFAULT. */
static int recv_answer(struct recv_call *call)
{
	might_fault();
	return put_answer(call->uarg, &call->ans) ? 0 : -EFAULT;
}

/*
 * Make sure that the answer of @call can be written, before waiting for a
 * message.  Its fields are 0 on input (ioc_recvmsg()): writing 0 only
 * faults their page in.
 */
static int recv_probe(struct recv_call *call)
{
	if (call->probed)
		return 0;
	if (clear_user(&call->uarg->msg_len, RECV_ANSWER_LEN))
		return -EFAULT;
	call->probed = true;
	return 0;
}

static void recv_creds(struct kbus_recv *ans, const struct kbus_msg *msg)
{
	struct user_namespace *ns = current_user_ns();

	ans->pid = msg->pid ? pid_vnr(msg->pid) : 0;
	ans->uid = from_kuid_munged(ns, msg->uid);
	ans->gid = from_kgid_munged(ns, msg->gid);
}

/*
 * Take the copy at the head of the queue off it.  A request to reply to is
 * recorded as owed through *@owed, which is then NULL.
 */
static void recv_take_locked(struct kbus_ksock *ks, struct kbus_qentry *qe,
			     struct kbus_request **owed)
{
	kbus_queue_take_locked(ks, qe);
	if ((qe->flags & KBUS_BIT_WANT_YOU_TO_REPLY) &&
	    kbus_reply_awaited_locked(ks, qe->msg)) {
		kbus_owed_add_locked(ks, *owed, &qe->msg->id, qe->msg->from);
		*owed = NULL;
		/* Pairs with READ_ONCE() in recv_one(). */
		WRITE_ONCE(ks->gets_requests, true);
	}
}

/*
 * Take the copy that recv_head() left queued, if it is still at the head
 * of the queue and nothing has left the queue since (so it is the same
 * copy, not a new one at the same address).  Returns RECV_TAKEN, or
 * RECV_AGAIN if the head has changed.
 */
static int recv_take(struct kbus_ksock *ks, struct kbus_qentry *qe, u32 gen,
		     struct kbus_request **owed)
{
	int ret = RECV_AGAIN;

	kbus_bus_lock(ks->bus);
	if (ks->queue_gen == gen &&
	    list_first_entry_or_null(&ks->queue, struct kbus_qentry,
				     node) == qe) {
		recv_take_locked(ks, qe, owed);
		ret = RECV_TAKEN;
	}
	kbus_bus_unlock(ks->bus);
	/* Room was made: wake waiting senders now the lock is free. */
	if (ret == RECV_TAKEN)
		kbus_bus_room_wake(ks->bus);
	return ret;
}

/*
 * Write the header image @hdr and the first @body_len bytes of the body of
 * @msg in one user access, and the answer of @call.  Where user addresses
 * can be masked (x86_64), that access is opened with
 * masked_user_access_begin(), which is bound to no range, and the answer
 * is written in it at its masked address, as copy_two_small_from_user()
 * reads two pieces (the writes start at the buffer's masked address and
 * stay within %KBUS_INLINE_COPY_MAX bytes of the header: the guard page
 * above user memory stops them if it was not a user address).  Elsewhere
 * the access opens the buffer's range, which may be all it opens
 * (powerpc's KUAP), and the answer gets one of its own.  Like filldir(),
 * this does without the checks of hardened usercopy: the sources are a
 * kbus_message_header built by recv_head(), the answer of @call and a
 * message body of known length.  Returns 0 or -EFAULT.
 */
static __always_inline int recv_write_inline(struct recv_call *call,
					     const struct kbus_message_header *hdr,
					     const struct kbus_msg *msg,
					     u32 body_len)
{
	struct kbus_recv __user *uarg = call->uarg;
	void __user *buf = call->buf;

	BUILD_BUG_ON(sizeof(*hdr) + KBUS_INLINE_COPY_MAX > PAGE_SIZE);
	if (can_do_masked_user_access()) {
		uarg = mask_user_address(uarg);
		buf = masked_user_access_begin(buf);
	} else if (!user_write_access_begin(buf, sizeof(*hdr) + body_len)) {
		return -EFAULT;
	}
	/*
	 * Unrolled where user addresses are masked (x86_64, where an
	 * unaligned buffer is no matter); elsewhere the arch's own copy.
	 */
	if (can_do_masked_user_access()) {
		if (!unsafe_put_hdr(buf, hdr))
			goto efault;
	} else {
		unsafe_copy_to_user(buf, (const char *)hdr, sizeof(*hdr),
				    efault);
	}
	if (body_len)
		unsafe_copy_to_user(buf + sizeof(*hdr), (const char *)msg->body,
				    body_len, efault);
	if (can_do_masked_user_access() && !unsafe_put_answer(uarg, &call->ans))
		goto efault;
	user_write_access_end();
	if (!can_do_masked_user_access() && !put_answer(uarg, &call->ans))
		return -EFAULT;
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

/*
 * Write a message to the buffer of @call, its header image @hdr and its
 * body, and the answer of @call.  The header, a body of at most
 * %KBUS_INLINE_COPY_MAX bytes and the answer are written by
 * recv_write_inline(); a longer body is written after them, with
 * copy_to_user().  If that fails, the caller writes the answer again.
 */
static int recv_write(struct recv_call *call,
		      const struct kbus_message_header *hdr,
		      const struct kbus_msg *msg)
{
	u32 body_len = kbus_msg_body_len(msg);
	bool inline_body = body_len <= KBUS_INLINE_COPY_MAX;

	might_fault();
	if (recv_write_inline(call, hdr, msg, inline_body ? body_len : 0))
		return -EFAULT;
	if (!inline_body &&
	    copy_to_user(call->buf + sizeof(*hdr), msg->body, body_len))
		return -EFAULT;
	return 0;
}

/*
 * Under the bus lock, write @msg, its header image @hdr and the answer
 * of @call with page faults disabled, if its body is at most
 * %KBUS_INLINE_COPY_MAX bytes: a copy as short as the bookkeeping around
 * it, made in the same hold of the lock as the look at the queue and the
 * take.  The credentials of the sender go into the answer first if
 * %KBUS_RECV_CREDS asked for them.  Returns true if it was written; false
 * if the body is longer or a page written to is not present and
 * writable (or not a user page at all), and the message is then copied
 * out with the lock dropped.
 */
static bool recv_write_locked(struct recv_call *call,
			      const struct kbus_message_header *hdr,
			      const struct kbus_msg *msg)
{
	u32 body_len = kbus_msg_body_len(msg);
	int ret;

	if (body_len > KBUS_INLINE_COPY_MAX)
		return false;
	if (call->creds)
		recv_creds(&call->ans, msg);
	pagefault_disable();
	ret = recv_write_inline(call, hdr, msg, body_len);
	pagefault_enable();
	return !ret;
}

/*
 * Look at the next message, under the bus lock.  If it can be received
 * and recv_write_locked() writes it out, it is taken in the same hold of
 * the lock (RECV_TAKEN, *@qep its copy).  Otherwise it stays queued, to
 * be copied out with the lock dropped and then taken with recv_take():
 * *@qep is then its copy, *@msgp its message with a reference taken,
 * *@hdr its header image and *@gen the queue's removal count.  Once the
 * lock is dropped the copy may leave the queue and be freed (an UNBIND by
 * another thread), so *@qep is only compared, never followed, until
 * recv_take() has taken it.  A long body is not copied out under the
 * lock, where the copy would add to the wait of every sender on the bus.
 * The length of the message looked at is in @call->ans.msg_len.  Returns
 * RECV_TAKEN, RECV_COPY, RECV_AGAIN if the queue is empty,
 * RECV_NEED_OWED if the message is a request to reply to and *@owed, its
 * record of what is owed, is still to be allocated, or -EMSGSIZE if the
 * buffer is too small.
 */
static int recv_head(struct kbus_ksock *ks, struct recv_call *call,
		     struct kbus_request **owed, struct kbus_qentry **qep,
		     struct kbus_msg **msgp, struct kbus_message_header *hdr,
		     u32 *gen)
{
	struct kbus_qentry *qe;
	int ret;

	kbus_bus_lock(ks->bus);
	ret = RECV_AGAIN;
	qe = list_first_entry_or_null(&ks->queue, struct kbus_qentry, node);
	if (!qe)
		goto out;
	call->ans.msg_len = kbus_msg_entire_len(qe->msg);
	ret = -EMSGSIZE;
	if (call->ans.msg_len > call->buf_len)
		goto out;
	ret = RECV_NEED_OWED;
	if ((qe->flags & KBUS_BIT_WANT_YOU_TO_REPLY) && !*owed)
		goto out;
	kbus_msg_header_image(qe, hdr);
	*qep = qe;
	if (recv_write_locked(call, hdr, qe->msg)) {
		recv_take_locked(ks, qe, owed);
		ret = RECV_TAKEN;
		goto out;
	}
	*gen = ks->queue_gen;
	refcount_inc(&qe->msg->refcount);
	*msgp = qe->msg;
	ret = RECV_COPY;
out:
	kbus_bus_unlock(ks->bus);
	/* Room was made: wake waiting senders now the lock is free. */
	if (ret == RECV_TAKEN)
		kbus_bus_room_wake(ks->bus);
	return ret;
}

/*
 * Copy out the message recv_head() left queued, write the answer, and
 * take the message if it is still the head of the queue: nothing is taken
 * unless both were written.  If the head has changed, the answer is
 * cleared again (its fields were 0 on input) for the next message.
 */
static int recv_copy(struct kbus_ksock *ks, struct recv_call *call,
		     struct kbus_qentry *qe, struct kbus_msg *msg,
		     const struct kbus_message_header *hdr, u32 gen,
		     struct kbus_request **owed)
{
	int ret;

	if (call->creds)
		recv_creds(&call->ans, msg);
	if (recv_write(call, hdr, msg)) {
		/* Of a message not received, only the length is told. */
		call->ans = (struct kbus_recv){ .msg_len = call->ans.msg_len };
		return -EFAULT;
	}
	ret = recv_take(ks, qe, gen, owed);
	if (ret == RECV_AGAIN) {
		call->ans = (struct kbus_recv){};
		if (clear_user(&call->uarg->msg_len, RECV_ANSWER_LEN))
			return -EFAULT;
	}
	return ret;
}

/*
 * Receive one message, waiting for one unless @nonblock.  The message is
 * copied out while it stays queued (under the bus lock if
 * recv_write_locked() can, else with the lock dropped), and taken off the
 * queue only once the copy has succeeded, so that a bad buffer leaves it
 * there; if the queue's head changed meanwhile (an URGENT message, an
 * UNBIND by another thread), the new head is received instead.  @rd_lock
 * keeps the receivers of one file from taking the same message twice and
 * is not held while waiting.  On success, *@qep is the copy taken, owned
 * by the caller.  *@owed, a record for a request to reply to, is
 * allocated here when one is needed (before looking, on a Ksock that has
 * had requests) and is NULL once used.
 */
static __always_inline int recv_one(struct kbus_ksock *ks,
				    struct recv_call *call, bool nonblock,
				    struct kbus_request **owed,
				    struct kbus_qentry **qep)
{
	/* Not cleared first: recv_head() writes every byte of it. */
	struct kbus_message_header hdr __uninitialized;
	struct kbus_qentry *qe;
	struct kbus_msg *msg;
	u32 gen;
	int ret;

	/* Pairs with WRITE_ONCE() in recv_take_locked(); may fail: a hint. */
	if (!*owed && READ_ONCE(ks->gets_requests))
		*owed = kbus_owed_get(ks);
	for (;;) {
		/* Pairs with WRITE_ONCE() in the queue helpers. */
		if (!READ_ONCE(ks->queue_len)) {
			if (nonblock)
				return -EAGAIN;
			/* Fail now, not once a message has come. */
			if (recv_probe(call))
				return -EFAULT;
			if (wait_event_interruptible(ks->wait,
						     READ_ONCE(ks->queue_len)))
				return -ERESTARTSYS;
		}
		if (mutex_lock_interruptible(&ks->rd_lock))
			return -ERESTARTSYS;
		ret = recv_head(ks, call, owed, &qe, &msg, &hdr, &gen);
		if (ret == RECV_COPY) {
			ret = recv_copy(ks, call, qe, msg, &hdr, gen, owed);
			kbus_msg_put(msg);
		}
		mutex_unlock(&ks->rd_lock);
		if (ret == RECV_NEED_OWED) {
			*owed = kbus_owed_get(ks);
			if (!*owed)
				return -ENOMEM;
		} else if (ret == RECV_TAKEN) {
			*qep = qe;
			return 0;
		} else if (ret < 0) {
			return ret;
		}
	}
}

/*
 * The checks of a %KBUS_IOC_RECVMSG's argument.  Inlined: recv_read_fast()
 * makes them within a user access.
 */
static __always_inline int check_recv_args(struct file *file,
					   const struct kbus_recv *args)
{
	if ((args->flags & ~KBUS_RECV_FLAGS) || args->__reserved ||
	    args->msg_len || args->pid || args->uid || args->gid)
		return -EINVAL;
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	return 0;
}

/*
 * Read the argument of a %KBUS_IOC_RECVMSG and make the probe of
 * recv_probe() in one user access, where user addresses can be masked and
 * the argument has this kernel's size and passes check_recv_args() (so
 * the answer's fields are 0, and writing 0 to them only faults their page
 * in; unlike recv_probe(), it is made whether or not the receive is to
 * wait).  Returns 1 if that was done; -EFAULT if a fault was injected (as
 * if the argument could not be read); or 0 if not: then nothing read here
 * is used, and the caller reads the argument again, for the errors of
 * doing so.
 */
static __always_inline int recv_read_fast(struct file *file,
					  struct kbus_recv *args,
					  struct kbus_recv __user *uarg)
{
	if (!can_do_masked_user_access())
		return 0;
	might_fault();
	if (should_fail_usercopy())
		return -EFAULT;
	check_object_size(args, sizeof(*args), false);
	uarg = masked_user_access_begin(uarg);
	if (!unsafe_get_recv_arg(args, uarg))
		goto out;
	if (args->size != sizeof(*args) || check_recv_args(file, args))
		goto out;
	if (!unsafe_put_answer(uarg, args))
		goto out;
	user_access_end();
	return 1;
out:
	user_access_end();
	return 0;
}

/*
 * Read and check the argument of a %KBUS_IOC_RECVMSG at @uarg into @args,
 * and set up @call from it.  Inlined: RECVMSG is a fast path.
 */
static __always_inline int recv_from_user(struct file *file,
					  struct kbus_recv *args,
					  struct recv_call *call,
					  struct kbus_recv __user *uarg)
{
	int err;

	err = recv_read_fast(file, args, uarg);
	if (err < 0)
		return err;
	call->probed = err;
	if (!call->probed) {
		err = get_sized_arg(args, sizeof(*args), KBUS_RECV_SIZE_VER0,
				    uarg);
		if (err < 0)
			return err;
		err = check_recv_args(file, args);
		if (err)
			return err;
	}
	call->uarg = uarg;
	call->buf = u64_to_user_ptr(args->buf_ptr);
	call->buf_len = args->buf_len;
	call->creds = args->flags & KBUS_RECV_CREDS;
	return 0;
}

/* Receive one message as @call, set up by recv_from_user() from @args. */
static __always_inline int recv_run(struct file *file, struct kbus_ksock *ks,
				    const struct kbus_recv *args,
				    struct recv_call *call)
{
	struct kbus_request *owed = NULL;
	struct kbus_qentry *qe;
	bool nonblock;
	int err;

	nonblock = (file->f_flags & O_NONBLOCK) ||
		   (args->flags & KBUS_RECV_NONBLOCK);
	err = recv_one(ks, call, nonblock, &owed, &qe);
	kbus_owed_put(ks, owed);
	if (!err) {
		/* The answer was written before the message was taken. */
		kbus_qentry_free(qe);
		return 0;
	}
	if (err != -EMSGSIZE && err != -EFAULT)
		return err;
	/* The length, with -EMSGSIZE and -EFAULT too. */
	if (recv_answer(call))
		return -EFAULT;
	return err;
}

static long ioc_recvmsg(struct file *file, struct kbus_ksock *ks,
			struct kbus_recv __user *uarg)
{
	struct recv_call call = {};
	struct kbus_recv args;
	int err;

	err = recv_from_user(file, &args, &call, uarg);
	if (err)
		return err;
	return recv_run(file, ks, &args, &call);
}

/*
 * A %KBUS_IOC_SENDMSG, then a %KBUS_IOC_RECVMSG: a round trip in one call
 * for each side.  The receive's argument is read and checked first, so
 * that an error in it sends nothing; the send then writes its id, so that
 * the caller tells an error of the receive (the id set) from one of the
 * send (the id 0).  Once the message is sent, the call is never restarted
 * (a restart would repeat the send): a signal while the receive waits
 * ends it with -EINTR, a stop and continue too.
 */
static long ioc_sendrecv(struct file *file, struct kbus_ksock *ks,
			 const void __user *uarg)
{
	struct recv_call call = {};
	struct kbus_sendrecv args;
	struct kbus_recv rargs;
	int err;

	err = get_sized_arg(&args, sizeof(args), KBUS_SENDRECV_SIZE_VER0,
			    uarg);
	if (err < 0)
		return err;
	if (args.flags)
		return -EINVAL;
	err = recv_from_user(file, &rargs, &call,
			     u64_to_user_ptr(args.recv_ptr));
	if (err)
		return err;
	/* The answer is known to be writable before the send, too. */
	err = recv_probe(&call);
	if (err)
		return err;
	err = ioc_sendmsg(file, ks, u64_to_user_ptr(args.send_ptr));
	if (err)
		return err;
	err = recv_run(file, ks, &rargs, &call);
	return err == -ERESTARTSYS ? -EINTR : err;
}

/* ---- Queries and options ---- */

static long ioc_ksock_info(struct kbus_ksock *ks, void __user *uarg)
{
	struct kbus_ksock_info info;
	int usize;

	usize = get_sized_arg(&info, sizeof(info), KBUS_INFO_SIZE_VER0, uarg);
	if (usize < 0)
		return usize;
	if (memchr_inv(&info.flags, 0, sizeof(info) - sizeof(info.size)))
		return -EINVAL;

	info.abi_version = KBUS_ABI_VERSION;
	info.ksock_id = ks->id;
	kbus_bus_lock(ks->bus);
	info.num_msgs = ks->queue_len;
	info.num_unreplied = ks->num_owed;
	info.num_outstanding = ks->num_outstanding;
	info.dropped = ks->dropped;
	info.queued_bytes = ks->queued_bytes;
	info.user_bytes = ks->user->bytes;
	kbus_bus_unlock(ks->bus);
	return put_sized_arg(uarg, &info, sizeof(info), usize);
}

static int kbus_get_opt(struct kbus_ksock *ks, u32 option, u64 *value)
{
	struct kbus_bus *bus = ks->bus;

	kbus_bus_lock(bus);
	switch (option) {
	case KBUS_OPT_MAX_MSGS:
		*value = ks->max_msgs;
		break;
	case KBUS_OPT_ONLY_ONCE:
		*value = ks->only_once;
		break;
	case KBUS_OPT_REPORT_REPLIER_BINDS:
		*value = bus->report_replier_binds;
		break;
	case KBUS_OPT_MAX_MSG_SIZE:
		*value = bus->max_msg_size;
		break;
	case KBUS_OPT_ABS_MAX_MSG_SIZE:
		*value = KBUS_ABS_MAX_MESSAGE_SIZE;
		break;
	case KBUS_OPT_MAX_BYTES:
		*value = ks->max_bytes;
		break;
	default:
		kbus_bus_unlock(bus);
		return -EINVAL;
	}
	kbus_bus_unlock(bus);
	return 0;
}

/* Check an option's new value; the caller holds no lock. */
static int kbus_check_opt(struct file *file, struct kbus_bus *bus,
			  u32 option, u64 value)
{
	switch (option) {
	case KBUS_OPT_MAX_MSGS:
		return value >= 1 && value <= KBUS_MAX_MAX_MSGS ? 0 : -EINVAL;
	case KBUS_OPT_ONLY_ONCE:
		return value <= 1 ? 0 : -EINVAL;
	case KBUS_OPT_REPORT_REPLIER_BINDS:
		if (value > 1)
			return -EINVAL;
		return may_admin(file, bus) ? 0 : -EPERM;
	case KBUS_OPT_MAX_MSG_SIZE:
		if (value < KBUS_MIN_MAX_MSG_SIZE ||
		    value > KBUS_ABS_MAX_MESSAGE_SIZE)
			return -EINVAL;
		return may_admin(file, bus) ? 0 : -EPERM;
	case KBUS_OPT_ABS_MAX_MSG_SIZE:
		return -EOPNOTSUPP;
	case KBUS_OPT_MAX_BYTES:
		return value >= 1 && value <= READ_ONCE(kbus_user_bytes) ?
		       0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static int kbus_set_opt(struct file *file, struct kbus_ksock *ks,
			u32 option, u64 value)
{
	struct kbus_bus *bus = ks->bus;
	int err;

	err = kbus_check_opt(file, bus, option, value);
	if (err)
		return err;

	if (kbus_bus_lock_sleepable_killable(bus))
		return -EINTR;
	switch (option) {
	case KBUS_OPT_MAX_MSGS:
		/* A larger queue may let a waiting sender through. */
		if (value > ks->max_msgs)
			kbus_bus_room_locked(bus);
		ks->max_msgs = value;
		break;
	case KBUS_OPT_ONLY_ONCE:
		/* Fewer copies to queue: a waiting sender may have room. */
		if (value && !ks->only_once)
			kbus_bus_room_locked(bus);
		ks->only_once = value;
		break;
	case KBUS_OPT_REPORT_REPLIER_BINDS:
		/* Catching up fails with nothing queued and nothing changed. */
		if (value)
			err = kbus_report_catch_up_locked(ks);
		if (!err)
			bus->report_replier_binds = value;
		break;
	case KBUS_OPT_MAX_MSG_SIZE:
		WRITE_ONCE(bus->max_msg_size, value);
		break;
	case KBUS_OPT_MAX_BYTES:
		if (value > ks->max_bytes)
			kbus_bus_room_locked(bus);
		ks->max_bytes = value;
		break;
	}
	kbus_bus_unlock_sleepable(bus);
	return err;
}

static long ioc_option(struct file *file, struct kbus_ksock *ks,
		       struct kbus_option __user *uarg, bool set)
{
	struct kbus_option args;
	int err;

	err = get_sized_arg(&args, sizeof(args), KBUS_OPTION_SIZE_VER0, uarg);
	if (err < 0)
		return err;
	if (args.flags || args.__reserved || (!set && args.value))
		return -EINVAL;
	if (set)
		return kbus_set_opt(file, ks, args.option, args.value);
	err = kbus_get_opt(ks, args.option, &args.value);
	if (err)
		return err;
	return put_user(args.value, &uarg->value);
}

static long kbus_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kbus_ksock *ks = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KBUS_IOC_BIND:
		return ioc_bind(file, ks, uarg, true);
	case KBUS_IOC_UNBIND:
		return ioc_bind(file, ks, uarg, false);
	case KBUS_IOC_REPLIER:
		return ioc_replier(ks, uarg);
	case KBUS_IOC_SENDMSG:
		return ioc_sendmsg(file, ks, uarg);
	case KBUS_IOC_RECVMSG:
		return ioc_recvmsg(file, ks, uarg);
	case KBUS_IOC_SENDRECV:
		return ioc_sendrecv(file, ks, uarg);
	case KBUS_IOC_CANCEL:
		/* No argument: the waiting sends; a struct: a request. */
		return arg ? ioc_cancel_request(ks, uarg) : ioc_cancel(ks);
	case KBUS_IOC_KSOCK_INFO:
		return ioc_ksock_info(ks, uarg);
	case KBUS_IOC_GET_OPTION:
		return ioc_option(file, ks, uarg, false);
	case KBUS_IOC_SET_OPTION:
		return ioc_option(file, ks, uarg, true);
	default:
		return -ENOTTY;
	}
}

/* ---- poll ---- */

/*
 * Whether a send is worth trying: none has failed for lack of room since
 * the last one that was decided, or room has been made on the bus since.
 */
static bool kbus_writable(struct kbus_ksock *ks)
{
	/* Pairs with smp_store_release() in send_blocking(). */
	if (!smp_load_acquire(&ks->send_blocked))
		return true;
	return atomic_read(&ks->bus->room_seq) != READ_ONCE(ks->blocked_seq);
}

static __poll_t kbus_poll(struct file *file, poll_table *wait)
{
	struct kbus_ksock *ks = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &ks->wait, wait);
	if (file->f_mode & FMODE_WRITE) {
		/*
		 * Always registered, so that epoll, which registers once, sees
		 * room being made for a send that returned -EAGAIN later.
		 */
		poll_wait(file, &ks->bus->write_wait, wait);
	}
	/*
	 * Wakers skip a wait queue nobody is on (wq_has_sleeper()): order
	 * the registrations above before the reads below, as
	 * sock_poll_wait() does, so that a message queued or room made in
	 * between is seen here or wakes the poller.
	 */
	if (!poll_does_not_wait(wait))
		smp_mb();	/* pairs with wq_has_sleeper() */
	if ((file->f_mode & FMODE_WRITE) && kbus_writable(ks))
		mask |= EPOLLOUT | EPOLLWRNORM;
	/* Pairs with WRITE_ONCE() in the queue helpers. */
	if ((file->f_mode & FMODE_READ) && READ_ONCE(ks->queue_len))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

const struct file_operations kbus_fops = {
	.owner = THIS_MODULE,
	.open = kbus_open,
	.release = kbus_release,
	.poll = kbus_poll,
	.unlocked_ioctl = kbus_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* ---- The control node of a kbus filesystem ---- */

static long ioc_bus_ctl(struct file *file, struct kbus_bus_ctl __user *uarg,
			bool add)
{
	struct super_block *sb = file_inode(file)->i_sb;
	struct kbus_bus_ctl args;
	int err;

	err = get_sized_arg(&args, sizeof(args), KBUS_BUS_CTL_SIZE_VER0, uarg);
	if (err < 0)
		return err;
	if (args.flags || args.__reserved || (add && args.index))
		return -EINVAL;
	if (!file_ns_capable(file, sb->s_user_ns, CAP_SYS_ADMIN))
		return -EPERM;
	/* Fail before creating anything if the answer cannot be written. */
	if (add && put_user(0, &uarg->index))
		return -EFAULT;
	/* Not on a read-only mount. */
	err = mnt_want_write_file(file);
	if (err)
		return err;
	if (add)
		err = kbus_fs_add_bus(sb, &args.index);
	else
		err = kbus_fs_remove_bus(sb, args.index);
	mnt_drop_write_file(file);
	if (err || !add)
		return err;
	/* The bus stays if this fails: its node shows it. */
	return put_user(args.index, &uarg->index);
}

static long kbus_control_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KBUS_IOC_ADD_BUS:
		return ioc_bus_ctl(file, uarg, true);
	case KBUS_IOC_REMOVE_BUS:
		return ioc_bus_ctl(file, uarg, false);
	default:
		return -ENOTTY;
	}
}

const struct file_operations kbus_control_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kbus_control_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};
