// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - file operations: the userspace interface
 *
 * Copyright (C) 2026 The KBUS Authors
 *
 * This is the only unit that touches user memory.  It copies arguments in,
 * checks them, calls the typed functions of the other units, and copies
 * results out.  The bus lock is never held while copying.
 */

#include "common.h"

#include <linux/build_bug.h>
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/kbus.h>
#include <linux/minmax.h>
#include <linux/pagemap.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/uaccess.h>

#include "bind.h"
#include "core.h"
#include "event.h"
#include "fops.h"
#include "msg.h"
#include "reply.h"
#include "send.h"

/* The layout is the original KBUS's on x86-64, and the same everywhere. */
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
	BUILD_BUG_ON(sizeof(struct kbus_bind_request) != 16);
	BUILD_BUG_ON(offsetof(struct kbus_bind_request, name) != 8);
	BUILD_BUG_ON(sizeof(struct kbus_bind_query) != 16);
	BUILD_BUG_ON(offsetof(struct kbus_bind_query, name) != 8);
	BUILD_BUG_ON(sizeof(struct kbus_replier_bind_event_data) != 12);
	BUILD_BUG_ON(sizeof(struct kbus_version) != 8);
	BUILD_BUG_ON(sizeof(struct kbus_send) != KBUS_SEND_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct kbus_send, msg_ptr) != 8);
	BUILD_BUG_ON(offsetof(struct kbus_send, id) != 24);
	BUILD_BUG_ON(sizeof(struct kbus_recv) != KBUS_RECV_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct kbus_recv, buf_ptr) != 8);
	BUILD_BUG_ON(offsetof(struct kbus_recv, pid) != 24);
	BUILD_BUG_ON(offsetof(struct kbus_recv, __reserved) != 36);
	BUILD_BUG_ON(KBUS_ENTIRE_MSG_LEN(6, 0) != 100);
	BUILD_BUG_ON(KBUS_ENTIRE_MSG_LEN(6, 4) != 104);
}

static int kbus_open(struct inode *inode, struct file *file)
{
	struct kbus_bus *bus = container_of(inode->i_cdev, struct kbus_bus,
					    cdev);
	struct kbus_ksock *ks;

	build_check_abi();
	get_device(&bus->dev);
	ks = kbus_ksock_create(bus, capable(CAP_SYS_ADMIN));
	if (IS_ERR(ks)) {
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
	put_device(&bus->dev);
	return 0;
}

/* Forget the message being written or sent. */
static void discard_write(struct kbus_ksock *ks)
{
	lockdep_assert_held(&ks->wr_lock);

	kbus_msg_put(ks->wr_msg);
	ks->wr_msg = NULL;
	memset(&ks->wr_hdr, 0, sizeof(ks->wr_hdr));
	ks->wr_hdr_got = 0;
	ks->wr_body_got = 0;
	ks->wr_complete = false;
	ks->wr_sending = false;
}

/*
 * A poll that found wr_lock taken reported the file not writable; wake it
 * now that wr_lock is free, so that it looks again.
 */
static void wake_writable(struct kbus_ksock *ks)
{
	wake_up_interruptible_poll(&ks->wait, EPOLLOUT | EPOLLWRNORM);
}

/* Check a message header: its guards, fields and size. */
static int check_hdr(struct kbus_bus *bus, const struct kbus_message_header *h)
{
	u32 max_size;
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
	mutex_lock(&bus->lock);
	max_size = bus->max_msg_size;
	mutex_unlock(&bus->lock);
	if (len > max_size)
		return -EMSGSIZE;
	return 0;
}

/* Check a header once all of it has been written. */
static int check_header(struct kbus_ksock *ks)
{
	return check_hdr(ks->bus, &ks->wr_hdr);
}

/*
 * Copy the header fields a sender controls into a message, and record who
 * sends it.
 */
static void fill_msg(struct kbus_msg *msg, const struct kbus_message_header *h)
{
	put_pid(msg->pid);
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

/* Accept more bytes of an entire message's body. */
static int write_body(struct kbus_ksock *ks, const char __user *buf,
		      size_t count, size_t *done)
{
	struct kbus_msg *msg = ks->wr_msg;
	size_t before = ks->wr_body_got;
	size_t n = min(count, msg->body_len - before);
	u32 guard;

	if (copy_from_user(msg->body + before, buf, n))
		return -EFAULT;
	ks->wr_body_got += n;
	*done += n;

	if (before < msg->name_len && ks->wr_body_got >= msg->name_len &&
	    !kbus_name_valid(msg->body, msg->name_len, false))
		return -EBADMSG;
	if (ks->wr_body_got < msg->body_len)
		return 0;

	memcpy(&guard, msg->body + msg->body_len - sizeof(guard),
	       sizeof(guard));
	if (guard != KBUS_MSG_END_GUARD)
		return -EINVAL;
	kbus_msg_seal(msg);
	ks->wr_complete = true;
	return 0;
}

static ssize_t kbus_write(struct file *file, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	struct kbus_ksock *ks = file->private_data;
	size_t done = 0, n;
	int err = 0;

	if (mutex_lock_interruptible(&ks->wr_lock))
		return -ERESTARTSYS;
	if (ks->wr_sending) {
		err = -EALREADY;
		goto out_unlock;
	}

	while (done < count && !err) {
		if (ks->wr_complete) {
			err = -EMSGSIZE;
		} else if (ks->wr_hdr_got < sizeof(ks->wr_hdr)) {
			n = min(count - done, sizeof(ks->wr_hdr) - ks->wr_hdr_got);
			if (copy_from_user((u8 *)&ks->wr_hdr + ks->wr_hdr_got,
					   buf + done, n)) {
				err = -EFAULT;
				break;
			}
			ks->wr_hdr_got += n;
			done += n;
			if (ks->wr_hdr_got < sizeof(ks->wr_hdr))
				continue;
			err = check_header(ks);
			if (err)
				break;
			if (ks->wr_hdr.name) {
				ks->wr_complete = true;	/* pointy */
				continue;
			}
			ks->wr_msg = kbus_msg_alloc(ks->wr_hdr.name_len,
						    ks->wr_hdr.data_len);
			if (IS_ERR(ks->wr_msg)) {
				err = PTR_ERR(ks->wr_msg);
				ks->wr_msg = NULL;
			}
		} else {
			err = write_body(ks, buf + done, count - done, &done);
		}
	}
	if (err)
		discard_write(ks);
out_unlock:
	mutex_unlock(&ks->wr_lock);
	wake_writable(ks);
	return err ? err : count;
}

/* Build the message of a pointy header: copy its name and data in. */
static struct kbus_msg *pointy_msg(const struct kbus_message_header *h)
{
	struct kbus_msg *msg;

	msg = kbus_msg_alloc(h->name_len, h->data_len);
	if (IS_ERR(msg))
		return msg;
	if (copy_from_user(msg->body, u64_to_user_ptr(h->name), h->name_len) ||
	    copy_from_user(kbus_msg_data(msg), u64_to_user_ptr(h->data),
			   h->data_len)) {
		kbus_msg_put(msg);
		return ERR_PTR(-EFAULT);
	}
	if (!kbus_name_valid(msg->body, h->name_len, false)) {
		kbus_msg_put(msg);
		return ERR_PTR(-EBADMSG);
	}
	kbus_msg_seal(msg);
	return msg;
}

/* Whether a name is one that only KBUS itself may send: $.KBUS[.*]. */
static bool name_reserved(const char *name, u32 len)
{
	static const char prefix[] = "$.KBUS";
	size_t n = sizeof(prefix) - 1;

	return len >= n && !memcmp(name, prefix, n) &&
	       (len == n || name[n] == '.');
}

/*
 * Send, and while an ALL_OR_WAIT send finds no room, wait for room unless
 * @nonblock.  Returns with the Ksock "sending" on -EAGAIN and -ERESTARTSYS.
 */
static int send_wait(struct kbus_ksock *ks, bool retry, bool nonblock,
		     struct kbus_msg_id *id)
{
	struct kbus_bus *bus = ks->bus;
	int err, seq;

	lockdep_assert_held(&ks->wr_lock);

	for (;;) {
		seq = atomic_read(&bus->room_seq);
		err = kbus_send(ks, ks->wr_msg, retry, id);
		if (err != -EAGAIN)
			return err;
		ks->wr_sending = true;
		if (nonblock)
			return -EAGAIN;
		/* room_seq changes under the bus lock before each wake-up. */
		if (wait_event_interruptible(bus->write_wait,
					     atomic_read(&bus->room_seq) != seq))
			return -ERESTARTSYS;
		retry = true;
	}
}

static long ioc_send(struct kbus_ksock *ks, struct kbus_msg_id __user *uid,
		     bool nonblock)
{
	struct kbus_msg_id id = {};
	struct kbus_msg *msg;
	bool retry;
	int err;

	/* Send nothing if the id cannot be written. */
	if (copy_to_user(uid, &id, sizeof(id)))
		return -EFAULT;

	mutex_lock(&ks->wr_lock);
	retry = ks->wr_sending;
	if (!retry) {
		if (!ks->wr_hdr_got) {
			err = -ENOMSG;
			goto out_unlock;
		}
		if (!ks->wr_complete) {
			err = -EINVAL;
			goto out_discard;
		}
		if (!ks->wr_msg) {
			msg = pointy_msg(&ks->wr_hdr);
			if (IS_ERR(msg)) {
				err = PTR_ERR(msg);
				goto out_discard;
			}
			ks->wr_msg = msg;
		}
		if (name_reserved(kbus_msg_name(ks->wr_msg),
				  ks->wr_msg->name_len)) {
			err = -EPERM;
			goto out_discard;
		}
		fill_msg(ks->wr_msg, &ks->wr_hdr);
	}

	err = send_wait(ks, retry, nonblock, &id);
	if (err == -EAGAIN || err == -ERESTARTSYS)
		goto out_copy;
	if (err)
		goto out_discard;

	discard_write(ks);
out_copy:
	if (copy_to_user(uid, &id, sizeof(id)) && err != -ERESTARTSYS)
		err = -EFAULT;
	goto out_unlock;
out_discard:
	discard_write(ks);
out_unlock:
	mutex_unlock(&ks->wr_lock);
	wake_writable(ks);
	return err;
}

/* The message of a %KBUS_IOC_SENDMSG: a pointy header or an entire one. */
static struct kbus_msg *msg_from_user(struct kbus_bus *bus, u64 uptr,
				      u32 len)
{
	const void __user *umsg = u64_to_user_ptr(uptr);
	struct kbus_message_header h;
	struct kbus_msg *msg;
	u32 guard;
	int err;

	if (len < sizeof(h))
		return ERR_PTR(-EINVAL);
	if (copy_from_user(&h, umsg, sizeof(h)))
		return ERR_PTR(-EFAULT);
	err = check_hdr(bus, &h);
	if (err)
		return ERR_PTR(err);

	if (h.name) {
		if (len != sizeof(h))
			return ERR_PTR(-EINVAL);
		msg = pointy_msg(&h);
		if (IS_ERR(msg))
			return msg;
	} else {
		if (len != KBUS_ENTIRE_MSG_LEN((u64)h.name_len,
					       (u64)h.data_len))
			return ERR_PTR(-EINVAL);
		msg = kbus_msg_alloc(h.name_len, h.data_len);
		if (IS_ERR(msg))
			return msg;
		err = -EFAULT;
		if (copy_from_user(msg->body, umsg + sizeof(h), msg->body_len))
			goto err_put;
		err = -EBADMSG;
		if (!kbus_name_valid(msg->body, h.name_len, false))
			goto err_put;
		err = -EINVAL;
		memcpy(&guard, msg->body + msg->body_len - sizeof(guard),
		       sizeof(guard));
		if (guard != KBUS_MSG_END_GUARD)
			goto err_put;
		kbus_msg_seal(msg);
	}
	if (name_reserved(kbus_msg_name(msg), msg->name_len)) {
		err = -EPERM;
		goto err_put;
	}
	fill_msg(msg, &h);
	return msg;

err_put:
	kbus_msg_put(msg);
	return ERR_PTR(err);
}

/*
 * Send a message, waiting for room unless @nonblock.  Each attempt takes a
 * new id, so the id of a send that waited says when it was delivered.  A
 * nonblocking send that finds no room records the room sequence it saw,
 * for poll().
 */
static int send_blocking(struct kbus_ksock *ks, struct kbus_msg *msg,
			 bool nonblock, struct kbus_msg_id *id)
{
	struct kbus_bus *bus = ks->bus;
	int cancel = atomic_read(&ks->cancel_seq);
	int seq, err;

	for (;;) {
		seq = atomic_read(&bus->room_seq);
		err = kbus_send(ks, msg, false, id);
		if (err != -EAGAIN)
			break;
		if (nonblock) {
			ks->blocked_seq = seq;
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

/*
 * Read a size-first argument struct: its @size field, then as much of it
 * as both sides know (copy_struct_from_user()).
 */
static int get_sized_arg(void *dst, size_t ksize, size_t min_size,
			 const void __user *uarg)
{
	u32 usize;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize < min_size)
		return -EINVAL;
	/* As openat2() and clone3(): nothing larger than a page. */
	if (usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(dst, ksize, uarg, usize);
}

static long ioc_sendmsg(struct file *file, struct kbus_ksock *ks,
			struct kbus_send __user *uarg)
{
	struct kbus_msg_id id = {};
	struct kbus_send args;
	struct kbus_msg *msg;
	bool nonblock;
	int err;

	err = get_sized_arg(&args, sizeof(args), KBUS_SEND_SIZE_VER0, uarg);
	if (err)
		return err;
	if ((args.flags & ~KBUS_SEND_FLAGS) || args.__reserved)
		return -EINVAL;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	/* Send nothing if the id cannot be written. */
	if (copy_to_user(&uarg->id, &id, sizeof(id)))
		return -EFAULT;

	msg = msg_from_user(ks->bus, args.msg_ptr, args.msg_len);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	nonblock = (file->f_flags & O_NONBLOCK) ||
		   (args.flags & KBUS_SEND_NONBLOCK);
	err = send_blocking(ks, msg, nonblock, &id);
	kbus_msg_put(msg);
	if (err)
		return err;
	/*
	 * The message has gone; if the id can no longer be written (the
	 * caller unmapped it meanwhile), the send still succeeded.
	 */
	if (copy_to_user(&uarg->id, &id, sizeof(id)))
		pr_debug("ksock %u: id of a sent message not written\n", ks->id);
	return 0;
}

/*
 * Pop the next message if it fits in @limit bytes.  Returns the entry
 * (owned by the caller; a request to reply to is recorded as owed through
 * *@owed, which is then NULL), NULL if the queue is empty, or
 * ERR_PTR(-EMSGSIZE) with *@len set if it does not fit.
 */
static struct kbus_qentry *recv_pop(struct kbus_ksock *ks, u32 limit,
				    struct kbus_request **owed, u32 *len)
{
	struct kbus_qentry *qe;

	mutex_lock(&ks->bus->lock);
	qe = list_first_entry_or_null(&ks->queue, struct kbus_qentry, node);
	if (qe) {
		*len = kbus_msg_entire_len(qe->msg);
		if (*len > limit) {
			qe = ERR_PTR(-EMSGSIZE);
		} else {
			kbus_queue_remove_locked(ks, qe);
			if (qe->flags & KBUS_BIT_WANT_YOU_TO_REPLY) {
				kbus_owed_add_locked(ks, *owed, &qe->msg->id,
						     qe->msg->from);
				*owed = NULL;
			}
		}
	}
	mutex_unlock(&ks->bus->lock);
	return qe;
}

static void recv_creds(struct kbus_recv *args, const struct kbus_msg *msg)
{
	struct user_namespace *ns = current_user_ns();

	args->pid = msg->pid ? pid_vnr(msg->pid) : 0;
	args->uid = from_kuid_munged(ns, msg->uid);
	args->gid = from_kgid_munged(ns, msg->gid);
}

/*
 * Receive one message into @buf: wait for one unless @nonblock, and pop it
 * only once @buf is known to be writable for all of it, so that a bad
 * buffer leaves it queued.  Holds @rd_lock from the pop to the end of the
 * copy, not while waiting.
 */
static int recv_one(struct kbus_ksock *ks, void __user *buf, u32 buf_len,
		    bool nonblock, struct kbus_request **owed,
		    struct kbus_qentry **qep, u32 *len)
{
	struct kbus_qentry *qe;
	u32 ready = 0;		/* bytes of @buf faulted in */

	/* A buffer of a page or less: make it ready at once. */
	if (buf_len <= PAGE_SIZE && !fault_in_writeable(buf, buf_len))
		ready = buf_len;
	for (;;) {
		if (mutex_lock_interruptible(&ks->rd_lock))
			return -ERESTARTSYS;
		qe = recv_pop(ks, ready, owed, len);
		if (qe && !IS_ERR(qe)) {
			*qep = qe;
			return 0;	/* with @rd_lock held */
		}
		mutex_unlock(&ks->rd_lock);
		if (IS_ERR(qe)) {
			/* The next message is larger than what is ready. */
			if (*len > buf_len)
				return -EMSGSIZE;
			if (fault_in_writeable(buf, *len))
				return -EFAULT;
			ready = *len;
			continue;
		}
		if (nonblock)
			return -EAGAIN;
		/* Pairs with WRITE_ONCE() in the queue helpers. */
		if (wait_event_interruptible(ks->wait, READ_ONCE(ks->queue_len)))
			return -ERESTARTSYS;
	}
}

static long ioc_recvmsg(struct file *file, struct kbus_ksock *ks,
			struct kbus_recv __user *uarg)
{
	struct kbus_message_header hdr;
	struct kbus_request *owed;
	void __user *buf;
	struct kbus_qentry *qe;
	struct kbus_recv args;
	bool nonblock;
	u32 len = 0;
	int err;

	err = get_sized_arg(&args, sizeof(args), KBUS_RECV_SIZE_VER0, uarg);
	if (err)
		return err;
	if ((args.flags & ~KBUS_RECV_FLAGS) || args.__reserved)
		return -EINVAL;
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	/* Pop nothing if the answer cannot be written. */
	if (copy_to_user(uarg, &args, sizeof(args)))
		return -EFAULT;
	nonblock = (file->f_flags & O_NONBLOCK) ||
		   (args.flags & KBUS_RECV_NONBLOCK);
	buf = u64_to_user_ptr(args.buf_ptr);

	owed = kbus_request_alloc(false);
	if (!owed)
		return -ENOMEM;
	err = recv_one(ks, buf, args.buf_len, nonblock, &owed, &qe, &len);
	args.msg_len = len;
	if (!err) {
		kbus_msg_header_image(qe, &hdr);
		/*
		 * Only a concurrent munmap() of the buffer, faulted in above,
		 * can make this fail: the message is then lost.
		 */
		if (copy_to_user(buf, &hdr, sizeof(hdr)) ||
		    copy_to_user(buf + sizeof(hdr), qe->msg->body,
				 qe->msg->body_len))
			err = -EFAULT;
		mutex_unlock(&ks->rd_lock);
		if (args.flags & KBUS_RECV_CREDS)
			recv_creds(&args, qe->msg);
		kbus_qentry_free(qe);
	}
	kbus_request_free(owed);
	if (err && err != -EMSGSIZE && err != -EFAULT)
		return err;
	if (copy_to_user(uarg, &args, sizeof(args)))
		return -EFAULT;
	return err;
}

static long ioc_cancel(struct kbus_ksock *ks)
{
	atomic_inc(&ks->cancel_seq);
	wake_up_interruptible_all(&ks->bus->write_wait);
	return 0;
}

static long ioc_discard(struct kbus_ksock *ks)
{
	mutex_lock(&ks->wr_lock);
	discard_write(ks);
	mutex_unlock(&ks->wr_lock);
	wake_writable(ks);
	return 0;
}

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

static int bind_locked(struct kbus_ksock *ks, const char *name, u32 len,
		       bool is_replier)
{
	int err;

	if (is_replier) {
		if (kbus_replier_exact_locked(ks->bus, name, len))
			return -EADDRINUSE;
		err = kbus_report_bind_locked(ks, name, len, true, false);
		if (err)
			return err;
	}
	return kbus_bind_locked(ks, name, len, is_replier);
}

static int unbind_locked(struct kbus_ksock *ks, const char *name, u32 len,
			 bool is_replier)
{
	int err;

	if (!kbus_binding_find_locked(ks, name, len, is_replier))
		return -EINVAL;
	if (is_replier) {
		err = kbus_report_bind_locked(ks, name, len, false, false);
		if (err)
			return err;
	}
	return kbus_unbind_locked(ks, name, len, is_replier);
}

static long ioc_bind(struct kbus_ksock *ks, void __user *arg, bool bind)
{
	struct kbus_bind_request req;
	char *name;
	long err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.is_replier > 1)
		return -EINVAL;
	name = get_name(req.name, req.name_len, true);
	if (IS_ERR(name))
		return PTR_ERR(name);
	if (bind && req.is_replier &&
	    !strcmp(name, KBUS_MSG_NAME_REPLIER_BIND_EVENT)) {
		err = -EBADMSG;
		goto out_free;
	}

	mutex_lock(&ks->bus->lock);
	if (bind)
		err = bind_locked(ks, name, req.name_len, req.is_replier);
	else
		err = unbind_locked(ks, name, req.name_len, req.is_replier);
	mutex_unlock(&ks->bus->lock);
	kbus_dbg(ks->bus, "ksock %u %s %s %s: %ld\n", ks->id,
		 bind ? "bind" : "unbind", req.is_replier ? "replier" : "listener",
		 name, err);
out_free:
	kfree(name);
	return err;
}

static long ioc_replier(struct kbus_ksock *ks, void __user *arg)
{
	struct kbus_bind_query q;
	struct kbus_binding *b;
	char *name;

	if (copy_from_user(&q, arg, sizeof(q)))
		return -EFAULT;
	name = get_name(q.name, q.name_len, true);
	if (IS_ERR(name))
		return PTR_ERR(name);

	mutex_lock(&ks->bus->lock);
	if (kbus_name_valid(name, q.name_len, false))
		b = kbus_replier_for_locked(ks->bus, name, q.name_len);
	else
		b = kbus_replier_exact_locked(ks->bus, name, q.name_len);
	q.return_id = b ? b->ksock->id : 0;
	mutex_unlock(&ks->bus->lock);
	kfree(name);

	if (copy_to_user(arg, &q, sizeof(q)))
		return -EFAULT;
	return q.return_id ? 1 : 0;
}

static long ioc_nextmsg(struct kbus_ksock *ks, u32 __user *ulen)
{
	struct kbus_request *owed;
	struct kbus_qentry *qe, *old;
	u32 len = 0;

	/* Pop nothing if the length cannot be written. */
	if (put_user(0, ulen))
		return -EFAULT;
	owed = kbus_request_alloc(false);
	if (!owed)
		return -ENOMEM;

	mutex_lock(&ks->rd_lock);
	mutex_lock(&ks->bus->lock);
	old = ks->cur;
	qe = kbus_queue_pop_locked(ks);
	if (qe && (qe->flags & KBUS_BIT_WANT_YOU_TO_REPLY)) {
		kbus_owed_add_locked(ks, owed, &qe->msg->id, qe->msg->from);
		owed = NULL;
	}
	mutex_unlock(&ks->bus->lock);

	ks->cur = qe;
	ks->cur_off = 0;
	ks->cur_len = 0;
	if (qe) {
		kbus_msg_header_image(qe, &ks->cur_hdr);
		ks->cur_len = kbus_msg_entire_len(qe->msg);
		len = ks->cur_len;
	}
	mutex_unlock(&ks->rd_lock);

	kbus_qentry_free(old);
	kbus_request_free(owed);
	if (put_user(len, ulen))
		return -EFAULT;
	return qe ? 1 : 0;
}

static long ioc_lenleft(struct kbus_ksock *ks, u32 __user *ulen)
{
	u32 left;

	mutex_lock(&ks->rd_lock);
	left = ks->cur ? ks->cur_len - ks->cur_off : 0;
	mutex_unlock(&ks->rd_lock);
	return put_user(left, ulen);
}

static ssize_t kbus_read(struct file *file, char __user *buf, size_t count,
			 loff_t *ppos)
{
	struct kbus_ksock *ks = file->private_data;
	size_t hdr_len = sizeof(ks->cur_hdr), done = 0, n, off;
	struct kbus_qentry *finished = NULL;
	ssize_t ret;

	if (mutex_lock_interruptible(&ks->rd_lock))
		return -ERESTARTSYS;
	if (!ks->cur) {
		ret = 0;
		goto out_unlock;
	}
	count = min(count, ks->cur_len - ks->cur_off);
	while (done < count) {
		off = ks->cur_off;
		if (off < hdr_len) {
			n = min(count - done, hdr_len - off);
			if (copy_to_user(buf + done, (u8 *)&ks->cur_hdr + off, n))
				break;
		} else {
			n = count - done;
			if (copy_to_user(buf + done,
					 ks->cur->msg->body + off - hdr_len, n))
				break;
		}
		ks->cur_off += n;
		done += n;
	}
	if (ks->cur_off == ks->cur_len) {
		finished = ks->cur;
		ks->cur = NULL;
	}
	ret = done ? done : (count ? -EFAULT : 0);
out_unlock:
	mutex_unlock(&ks->rd_lock);
	kbus_qentry_free(finished);
	return ret;
}

/* The 0 / 1 / KBUS_QUERY protocol of the boolean settings. */
static long ioc_bool(struct kbus_ksock *ks, u32 __user *uval, bool *setting,
		     bool admin)
{
	u32 val, old;

	if (get_user(val, uval))
		return -EFAULT;
	if (val != 0 && val != 1 && val != KBUS_QUERY)
		return -EINVAL;
	if (val != KBUS_QUERY && admin && !ks->may_admin)
		return -EPERM;

	mutex_lock(&ks->bus->lock);
	old = *setting;
	if (val != KBUS_QUERY)
		*setting = val;
	/* Fewer copies to queue: a waiting sender may now have room. */
	if (val == 1 && !old)
		kbus_bus_room_locked(ks->bus);
	mutex_unlock(&ks->bus->lock);
	return put_user(old, uval);
}

static long ioc_report_binds(struct kbus_ksock *ks, u32 __user *uval)
{
	u32 val, old;
	long err;

	if (get_user(val, uval))
		return -EFAULT;
	if (val != 0 && val != 1 && val != KBUS_QUERY)
		return -EINVAL;
	if (val != KBUS_QUERY && !ks->may_admin)
		return -EPERM;

	mutex_lock(&ks->bus->lock);
	old = ks->bus->report_replier_binds;
	if (val != KBUS_QUERY)
		ks->bus->report_replier_binds = val;
	err = val == 1 ? kbus_report_catch_up_locked(ks) : 0;
	mutex_unlock(&ks->bus->lock);
	if (err)
		return err;
	return put_user(old, uval);
}

static long ioc_maxmsgs(struct kbus_ksock *ks, u32 __user *uval)
{
	u32 val;

	if (get_user(val, uval))
		return -EFAULT;
	if (val > KBUS_MAX_MAX_MESSAGES)
		return -EINVAL;
	mutex_lock(&ks->bus->lock);
	if (val) {
		ks->max_msgs = val;
		kbus_bus_room_locked(ks->bus);
	}
	val = ks->max_msgs;
	mutex_unlock(&ks->bus->lock);
	return put_user(val, uval);
}

static long ioc_maxmsgsize(struct kbus_ksock *ks, u32 __user *uval)
{
	u32 val;

	if (get_user(val, uval))
		return -EFAULT;
	if (val == 1)
		return put_user(KBUS_ABS_MAX_MESSAGE_SIZE, uval);
	if (val && (val < KBUS_MIN_MAX_MESSAGE_SIZE ||
		    val > KBUS_ABS_MAX_MESSAGE_SIZE))
		return -EINVAL;
	if (val && !ks->may_admin)
		return -EPERM;
	mutex_lock(&ks->bus->lock);
	if (val)
		ks->bus->max_msg_size = val;
	val = ks->bus->max_msg_size;
	mutex_unlock(&ks->bus->lock);
	return put_user(val, uval);
}

/* Read a u32 that the bus lock protects and copy it out. */
static long ioc_get_u32(struct kbus_ksock *ks, const u32 *field,
			u32 __user *uval)
{
	u32 val;

	mutex_lock(&ks->bus->lock);
	val = *field;
	mutex_unlock(&ks->bus->lock);
	return put_user(val, uval);
}

static long ioc_lastsent(struct kbus_ksock *ks, void __user *arg)
{
	struct kbus_msg_id id;

	mutex_lock(&ks->bus->lock);
	id = ks->last_sent;
	mutex_unlock(&ks->bus->lock);
	return copy_to_user(arg, &id, sizeof(id)) ? -EFAULT : 0;
}

static long ioc_newdevice(struct kbus_ksock *ks, u32 __user *uval)
{
	u32 index;
	int err;

	if (!ks->may_admin)
		return -EPERM;
	/* Fail before creating anything if the answer cannot be written. */
	if (put_user(0, uval))
		return -EFAULT;
	err = kbus_bus_create(&index);
	if (err)
		return err;
	return put_user(index, uval);
}

static long ioc_version(void __user *arg)
{
	struct kbus_version v = {
		.abi_version = KBUS_ABI_VERSION,
		.features = KBUS_FEATURE_BASE | KBUS_FEATURE_DROPPED |
			    KBUS_FEATURE_BLOCKING_SEND | KBUS_FEATURE_BYTE_BUDGET,
	};

	return copy_to_user(arg, &v, sizeof(v)) ? -EFAULT : 0;
}

static long ioc_dropped(struct kbus_ksock *ks, u64 __user *uval)
{
	u64 val;

	mutex_lock(&ks->bus->lock);
	val = ks->dropped;
	mutex_unlock(&ks->bus->lock);
	return put_user(val, uval);
}

static long kbus_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kbus_ksock *ks = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KBUS_IOC_RESET:
		return 0;
	case KBUS_IOC_BIND:
		return ioc_bind(ks, uarg, true);
	case KBUS_IOC_UNBIND:
		return ioc_bind(ks, uarg, false);
	case KBUS_IOC_KSOCKID:
		return put_user(ks->id, (u32 __user *)uarg);
	case KBUS_IOC_REPLIER:
		return ioc_replier(ks, uarg);
	case KBUS_IOC_NEXTMSG:
		return ioc_nextmsg(ks, uarg);
	case KBUS_IOC_LENLEFT:
		return ioc_lenleft(ks, uarg);
	case KBUS_IOC_SEND:
		return ioc_send(ks, uarg, file->f_flags & O_NONBLOCK);
	case KBUS_IOC_DISCARD:
		return ioc_discard(ks);
	case KBUS_IOC_LASTSENT:
		return ioc_lastsent(ks, uarg);
	case KBUS_IOC_MAXMSGS:
		return ioc_maxmsgs(ks, uarg);
	case KBUS_IOC_NUMMSGS:
		return ioc_get_u32(ks, &ks->queue_len, uarg);
	case KBUS_IOC_UNREPLIEDTO:
		return ioc_get_u32(ks, &ks->num_owed, uarg);
	case KBUS_IOC_MSGONLYONCE:
		return ioc_bool(ks, uarg, &ks->only_once, false);
	case KBUS_IOC_VERBOSE:
		return ioc_bool(ks, uarg, &ks->bus->verbose, true);
	case KBUS_IOC_NEWDEVICE:
		return ioc_newdevice(ks, uarg);
	case KBUS_IOC_REPORTREPLIERBINDS:
		return ioc_report_binds(ks, uarg);
	case KBUS_IOC_MAXMSGSIZE:
		return ioc_maxmsgsize(ks, uarg);
	case KBUS_IOC_VERSION:
		return ioc_version(uarg);
	case KBUS_IOC_DROPPED:
		return ioc_dropped(ks, uarg);
	case KBUS_IOC_SENDMSG:
		return ioc_sendmsg(file, ks, uarg);
	case KBUS_IOC_RECVMSG:
		return ioc_recvmsg(file, ks, uarg);
	case KBUS_IOC_CANCEL:
		return ioc_cancel(ks);
	default:
		return -ENOTTY;
	}
}

/*
 * Finish a send left waiting for room.  Returns true if the Ksock is no
 * longer sending.  A request that fails gets a synthetic reply, since no
 * system call is there to return the error.
 */
static bool poll_finish_send(struct kbus_ksock *ks)
{
	struct kbus_qentry *spare = NULL;
	struct kbus_msg_id id;
	const char *name;
	int err;

	lockdep_assert_held(&ks->wr_lock);

	if (!ks->wr_sending)
		return true;
	if (kbus_msg_is_request(ks->wr_msg)) {
		spare = kbus_synth_alloc();
		if (!spare)
			return false;	/* try again at the next poll */
	}
	err = kbus_send(ks, ks->wr_msg, true, &id);
	if (err == -EAGAIN) {
		kbus_qentry_free(spare);
		return false;
	}
	if (err && spare) {
		name = err == -EADDRNOTAVAIL ?
		       KBUS_MSG_NAME_REPLIER_DISAPPEARED :
		       KBUS_MSG_NAME_ERROR_SENDING;
		mutex_lock(&ks->bus->lock);
		kbus_synth_to_sender_locked(ks, spare, name, &ks->wr_msg->id);
		mutex_unlock(&ks->bus->lock);
		spare = NULL;
	}
	kbus_qentry_free(spare);
	discard_write(ks);
	return true;
}

/*
 * Whether a send is worth trying: none has failed for lack of room since
 * the last one that went, or room has been made on the bus since.
 */
static bool kbus_writable(struct kbus_ksock *ks)
{
	/* Pairs with smp_store_release() in send_blocking(). */
	if (!smp_load_acquire(&ks->send_blocked))
		return true;
	return atomic_read(&ks->bus->room_seq) != ks->blocked_seq;
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
		if (mutex_trylock(&ks->wr_lock)) {
			if (poll_finish_send(ks) && kbus_writable(ks))
				mask |= EPOLLOUT | EPOLLWRNORM;
			mutex_unlock(&ks->wr_lock);
		}
	}
	/* Pairs with WRITE_ONCE() in the queue helpers. */
	if (READ_ONCE(ks->queue_len))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

const struct file_operations kbus_fops = {
	.owner = THIS_MODULE,
	.open = kbus_open,
	.release = kbus_release,
	.read = kbus_read,
	.write = kbus_write,
	.poll = kbus_poll,
	.unlocked_ioctl = kbus_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};
