// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - message names and the binding registry
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#include "common.h"

#include <kunit/visibility.h>
#include <linux/ctype.h>
#include <linux/hash.h>
#include <linux/lockdep.h>
#include <linux/random.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/unaligned.h>

#include "account.h"
#include "bind.h"
#include "event.h"
#include "msg.h"
#include "trace.h"

/**
 * DOC: Names and bindings
 *
 * A message name is ``$.`` followed by words of alphanumeric characters
 * separated by single dots.  A binding may end in ``.*`` (every name below
 * the prefix, at any depth) or ``.%`` (every name exactly one level below
 * the prefix); messages are never sent to such patterns.
 *
 * Each distinct name or pattern bound on a bus has a &struct kbus_name_node
 * in the bus's hash table.  The table has about one node per bucket (it
 * doubles and halves with the names, under the bus lock) and a keyed hash
 * (hsiphash(), the kernel's keyed hash for hash tables) with a random key,
 * so that no set of names, however chosen, makes the chains long.  A
 * wildcard node is hashed by its prefix, so the nodes that match a name
 * ``$.A.B.C`` are found with one lookup per level: the exact node
 * ``$.A.B.C``, the ``%`` node keyed ``$.A.B`` and the ``*`` nodes keyed
 * ``$.A.B``, ``$.A`` and ``$``.  A lookup first tries the node the last
 * one found, without hashing: a request, its listeners and its reply look
 * the same name up.  Sending never scans the bindings of the bus.
 *
 * A name has at most one replier.  For a request, an exact replier beats a
 * ``%`` replier, which beats the ``*`` repliers; among those the longest
 * prefix wins.
 */

static struct kmem_cache *kbus_binding_cache;

/**
 * kbus_bind_cache_init() - Create the cache of bindings.
 *
 * Context: Module initialisation.
 * Return: 0, or -ENOMEM.
 */
int kbus_bind_cache_init(void)
{
	kbus_binding_cache = KMEM_CACHE(kbus_binding, SLAB_ACCOUNT);
	return kbus_binding_cache ? 0 : -ENOMEM;
}

/**
 * kbus_bind_cache_exit() - Destroy the cache of bindings.
 *
 * Context: Module exit, once every binding has been freed.
 */
void kbus_bind_cache_exit(void)
{
	kmem_cache_destroy(kbus_binding_cache);
}

static_assert(KBUS_MAX_NAME_LEN <= U16_MAX);

/* Bytes allocated for the node of a name or pattern of @len bytes. */
static size_t node_size(u32 len)
{
	return max(sizeof(struct kbus_name_node),
		   offsetof(struct kbus_name_node, full) + len + 1);
}

/**
 * kbus_name_status() - Whether a name is that of a status a bridge relays.
 * @name: the name.
 * @len: its length.
 *
 * The statuses a request can get on the far side of a bridge: KBUS's own
 * for a replier that went away (``$.KBUS.Replier.GoneAway``, ``Ignored``,
 * ``Unbound``), a bridge's for a stateful request whose replier changed
 * (``$.KBUS.Replier.NotSameKsock``) and for a request the far bus refused
 * (``$.KBUS.RemoteError.<ERRNO>``).
 *
 * Context: Any context.
 * Return: true for one of those names.
 */
bool kbus_name_status(const char *name, u32 len)
{
	static const char *const names[] = {
		KBUS_MSG_NAME_REPLIER_GONEAWAY, KBUS_MSG_NAME_REPLIER_IGNORED,
		KBUS_MSG_NAME_REPLIER_UNBOUND, "$.KBUS.Replier.NotSameKsock",
	};
	static const char remote[] = "$.KBUS.RemoteError.";
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (len == strlen(names[i]) && !memcmp(name, names[i], len))
			return true;
	return len > sizeof(remote) - 1 &&
	       !memcmp(name, remote, sizeof(remote) - 1);
}

/**
 * kbus_name_valid() - Whether a name or binding pattern is well formed.
 * @name: the name (need not be NUL-terminated).
 * @len: its length.
 * @wildcard_ok: whether a final ``.*`` or ``.%`` is allowed.
 *
 * Return: true if the name is valid.
 */
bool kbus_name_valid(const char *name, u32 len, bool wildcard_ok)
{
	u32 i;

	if (len < 3 || len > KBUS_MAX_NAME_LEN)
		return false;
	if (name[0] != '$' || name[1] != '.')
		return false;
	if (name[len - 2] == '.' &&
	    (name[len - 1] == '*' || name[len - 1] == '%')) {
		if (!wildcard_ok)
			return false;
		len -= 2;
		if (len == 1)
			return true;	/* "$.*" or "$.%" */
	}
	if (name[len - 1] == '.')
		return false;
	for (i = 2; i < len; i++) {
		if (name[i] == '.') {
			if (name[i - 1] == '.')
				return false;
		} else if (!isalnum(name[i])) {
			return false;
		}
	}
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_name_valid);

/* Length of the prefix before the last dot of a valid name. */
static u32 last_dot(const char *name, u32 len)
{
	u32 i;

	for (i = len; i > 1; i--) {
		if (name[i - 1] == '.')
			return i - 1;
	}
	return 1;	/* valid names start with "$." */
}

/**
 * kbus_names_init() - Create the name table of a new bus.
 * @bus: the bus.
 *
 * Context: Process context.
 * Return: 0, or -ENOMEM.
 */
int kbus_names_init(struct kbus_bus *bus)
{
	struct kbus_names *t = &bus->names;

	t->bits = KBUS_NAMES_MIN_BITS;
	t->count = 0;
	t->last = NULL;
	memset(t->nr_kind, 0, sizeof(t->nr_kind));
	t->buckets = kvcalloc(1U << t->bits, sizeof(*t->buckets),
			      GFP_KERNEL_ACCOUNT);
	if (!t->buckets)
		return -ENOMEM;
	get_random_bytes(&t->key, sizeof(t->key));
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_names_init);

/**
 * kbus_names_destroy() - Free the name table of a bus with nothing bound.
 * @bus: the bus.
 *
 * Context: Process context.
 */
void kbus_names_destroy(struct kbus_bus *bus)
{
	WARN_ON_ONCE(bus->names.count);
	kvfree(bus->names.buckets);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_names_destroy);

static u32 name_hash(const struct kbus_names *t, u8 kind, const char *key,
		     u32 len)
{
	return hsiphash(key, len, &t->key) + kind;
}

static struct hlist_head *name_bucket(const struct kbus_names *t, u32 hash)
{
	return &t->buckets[hash_32(hash, t->bits)];
}

/*
 * Move every node to a table of 1 << @bits buckets.  If that cannot be
 * allocated the table stays as it is: only longer chains.
 */
static void names_resize(struct kbus_names *t, u32 bits)
{
	struct hlist_head *old = t->buckets;
	struct kbus_name_node *node;
	struct hlist_node *tmp;
	u32 old_bits = t->bits, i;

	t->buckets = kvcalloc(1U << bits, sizeof(*t->buckets),
			      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!t->buckets) {
		t->buckets = old;
		return;
	}
	t->bits = bits;
	for (i = 0; i < 1U << old_bits; i++) {
		hlist_for_each_entry_safe(node, tmp, &old[i], hnode) {
			hlist_del(&node->hnode);
			hlist_add_head(&node->hnode,
				       name_bucket(t, name_hash(t, node->kind,
								node->full,
								node->len)));
		}
	}
	kvfree(old);
}

/*
 * Whether a node's name is the key of @len bytes: memcmp() without its
 * call, for names of four bytes and more (every valid name but "$.X"),
 * in two loads a side up to eight bytes and one per eight bytes beyond,
 * the last load overlapping the one before.
 */
static __always_inline bool key_eq(const char *a, const char *b, u32 len)
{
	u32 i;

	if (len < sizeof(u32))
		return !memcmp(a, b, len);
	if (len <= sizeof(u64))
		return get_unaligned((const u32 *)a) ==
		       get_unaligned((const u32 *)b) &&
		       get_unaligned((const u32 *)(a + len - 4)) ==
		       get_unaligned((const u32 *)(b + len - 4));
	for (i = 0; i + sizeof(u64) < len; i += sizeof(u64)) {
		if (get_unaligned((const u64 *)(a + i)) !=
		    get_unaligned((const u64 *)(b + i)))
			return false;
	}
	return get_unaligned((const u64 *)(a + len - 8)) ==
	       get_unaligned((const u64 *)(b + len - 8));
}

/*
 * The node of a key that is not the one found last, from its hash.  Not
 * inlined: node_lookup_locked() is, at each of its callers.
 */
static noinline struct kbus_name_node *
node_find_locked(struct kbus_names *t, u8 kind, const char *key, u32 len)
{
	struct kbus_name_node *node;

	hlist_for_each_entry(node, name_bucket(t, name_hash(t, kind, key, len)),
			     hnode) {
		if (node->kind == kind && node->len == len &&
		    key_eq(node->full, key, len)) {
			t->last = node;
			return node;
		}
	}
	return NULL;
}

/*
 * Inlined: most lookups are of a kind nothing is bound as (a wildcard
 * kind), or of the node found last (a send's name, for its replier and
 * then its listeners; one name sent again and again).
 */
static __always_inline struct kbus_name_node *
node_lookup_locked(struct kbus_bus *bus, u8 kind, const char *key, u32 len)
{
	struct kbus_names *t = &bus->names;
	struct kbus_name_node *node;

	kbus_lockdep_assert_bus(bus);

	/* Most buses bind few wildcards, if any: no need to hash for them. */
	if (!t->nr_kind[kind])
		return NULL;
	node = t->last;
	if (node && node->kind == kind && node->len == len &&
	    key_eq(node->full, key, len))
		return node;
	return node_find_locked(t, kind, key, len);
}

/* Split a pattern into its kind and key length. */
static u8 pattern_kind(const char *name, u32 len, u32 *keylen)
{
	*keylen = len;
	if (len >= 2 && name[len - 2] == '.') {
		if (name[len - 1] == '*') {
			*keylen = len - 2;
			return KBUS_NAME_STAR;
		}
		if (name[len - 1] == '%') {
			*keylen = len - 2;
			return KBUS_NAME_PERCENT;
		}
	}
	return KBUS_NAME_EXACT;
}

static struct kbus_name_node *node_get_locked(struct kbus_bus *bus,
					      const char *name, u32 len)
{
	struct kbus_name_node *node;
	struct kbus_names *t;
	u32 keylen;
	u8 kind;

	kind = pattern_kind(name, len, &keylen);
	node = node_lookup_locked(bus, kind, name, keylen);
	if (node)
		return node;

	node = kzalloc(node_size(len), GFP_KERNEL_ACCOUNT);
	if (!node)
		return NULL;
	INIT_LIST_HEAD(&node->listeners);
	node->kind = kind;
	node->len = keylen;
	memcpy(node->full, name, len);
	t = &bus->names;
	hlist_add_head(&node->hnode,
		       name_bucket(t, name_hash(t, kind, name, keylen)));
	t->nr_kind[kind]++;
	/* At most one node per bucket on average: a chain stays short. */
	if (++t->count > 1U << t->bits && t->bits < 31)
		names_resize(t, t->bits + 1);
	return node;
}

static void node_put_locked(struct kbus_bus *bus, struct kbus_name_node *node)
{
	struct kbus_names *t = &bus->names;

	if (node->replier || !list_empty(&node->listeners))
		return;
	hlist_del(&node->hnode);
	t->nr_kind[node->kind]--;
	if (t->last == node)
		t->last = NULL;
	kfree(node);
	if (--t->count < 1U << t->bits >> 3 && t->bits > KBUS_NAMES_MIN_BITS)
		names_resize(t, t->bits - 1);
}

/**
 * kbus_bind_locked() - Bind a Ksock to a name as listener or replier.
 * @ks: the Ksock.
 * @name: a valid name or pattern.
 * @len: its length.
 * @is_replier: bind as the replier.
 *
 * A replier binding comes with the event that will announce its
 * unbinding.  The binding is charged to the Ksock's user.
 *
 * Context: The bus lock is held sleepably; may sleep.
 * Return: 0, -EADDRINUSE if @is_replier and the name already has a
 * replier, -ENOSPC if the Ksock has ``kbus_max_bindings`` bindings or its
 * user cannot be charged, or -ENOMEM.
 */
int kbus_bind_locked(struct kbus_ksock *ks, const char *name, u32 len,
		     bool is_replier)
{
	struct kbus_bus *bus = ks->bus;
	struct kbus_msg *event = NULL;
	struct kbus_name_node *node;
	struct kbus_binding *b;
	size_t charge;

	kbus_lockdep_assert_bus_sleepable(bus);

	if (ks->num_bindings >= READ_ONCE(kbus_max_bindings))
		return -ENOSPC;
	charge = kmem_cache_size(kbus_binding_cache) +
		 kmalloc_size_roundup(node_size(len));
	if (is_replier) {
		event = kbus_bind_event_alloc(ks->id, name, len, false);
		if (IS_ERR(event))
			return PTR_ERR(event);
		charge += kbus_msg_cost(event);
	}
	if (!kbus_user_room_locked(ks->user, charge)) {
		kbus_msg_put(event);
		return -ENOSPC;
	}

	node = node_get_locked(bus, name, len);
	if (!node) {
		kbus_msg_put(event);
		return -ENOMEM;
	}
	if (is_replier && node->replier) {
		kbus_msg_put(event);
		return -EADDRINUSE;
	}

	b = kmem_cache_zalloc(kbus_binding_cache, GFP_KERNEL);
	if (!b) {
		kbus_msg_put(event);
		node_put_locked(bus, node);
		return -ENOMEM;
	}
	b->charge = charge;
	kbus_user_charge_locked(ks->user, charge);
	ks->num_bindings++;
	b->node = node;
	b->ksock = ks;
	b->is_replier = is_replier;
	if (is_replier) {
		b->unbind_event = event;
		node->replier = b;
	} else {
		list_add_tail(&b->name_link, &node->listeners);
	}
	list_add(&b->ksock_link, &ks->bindings);
	trace_kbus_bind(ks, node->full, is_replier);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_bind_locked);

/**
 * kbus_binding_find_locked() - Find a Ksock's most recent binding to a name.
 * @ks: the Ksock.
 * @name: the name or pattern, exactly as bound.
 * @len: its length.
 * @is_replier: look for a replier binding rather than a listener one.
 *
 * Context: The bus lock is held.
 * Return: the binding, or NULL.
 */
struct kbus_binding *kbus_binding_find_locked(struct kbus_ksock *ks,
					      const char *name, u32 len,
					      bool is_replier)
{
	struct kbus_binding *b;
	u32 keylen;
	u8 kind;

	kbus_lockdep_assert_bus(ks->bus);

	kind = pattern_kind(name, len, &keylen);
	list_for_each_entry(b, &ks->bindings, ksock_link) {
		if (b->is_replier == is_replier && b->node->kind == kind &&
		    b->node->len == keylen && !memcmp(b->node->full, name, keylen))
			return b;
	}
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_binding_find_locked);

/**
 * kbus_binding_free_locked() - Remove a binding from the registry and free it.
 * @b: the binding.  Messages queued through it must have been dealt with.
 *
 * Context: The bus lock is held sleepably; may sleep.
 */
void kbus_binding_free_locked(struct kbus_binding *b)
{
	struct kbus_name_node *node = b->node;
	struct kbus_bus *bus = b->ksock->bus;

	kbus_lockdep_assert_bus_sleepable(bus);

	trace_kbus_unbind(b->ksock, node->full, b->is_replier);
	if (b->is_replier) {
		node->replier = NULL;
		kbus_msg_put(b->unbind_event);
	} else {
		list_del(&b->name_link);
	}
	list_del(&b->ksock_link);
	b->ksock->num_bindings--;
	kbus_user_uncharge_locked(b->ksock->user, b->charge);
	kmem_cache_free(kbus_binding_cache, b);
	node_put_locked(bus, node);
	/*
	 * A sender waiting for this replier must learn that it has gone, and
	 * one waiting for room at this listener need not wait any more.
	 */
	kbus_bus_room_locked(bus);
}
EXPORT_SYMBOL_IF_KUNIT(kbus_binding_free_locked);

/**
 * kbus_replier_exact_locked() - The replier bound to exactly this string.
 * @bus: the bus.
 * @name: a name or pattern.
 * @len: its length.
 *
 * Context: The bus lock is held.
 * Return: the replier binding, or NULL.
 */
struct kbus_binding *kbus_replier_exact_locked(struct kbus_bus *bus,
					       const char *name, u32 len)
{
	struct kbus_name_node *node;
	u32 keylen;
	u8 kind;

	kind = pattern_kind(name, len, &keylen);
	node = node_lookup_locked(bus, kind, name, keylen);
	return node ? node->replier : NULL;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_replier_exact_locked);

/**
 * kbus_replier_for_locked() - The replier that gets a request for a name.
 * @bus: the bus.
 * @name: a valid name without wildcard.
 * @len: its length.
 *
 * Context: The bus lock is held.
 * Return: the replier binding with the highest precedence, or NULL.
 */
struct kbus_binding *kbus_replier_for_locked(struct kbus_bus *bus,
					     const char *name, u32 len)
{
	struct kbus_name_node *node;
	u32 i;

	node = node_lookup_locked(bus, KBUS_NAME_EXACT, name, len);
	if (node && node->replier)
		return node->replier;

	/* Most buses bind no wildcards: look for the last dot only if any. */
	if (bus->names.nr_kind[KBUS_NAME_PERCENT]) {
		node = node_lookup_locked(bus, KBUS_NAME_PERCENT, name,
					  last_dot(name, len));
		if (node && node->replier)
			return node->replier;
	}
	if (!bus->names.nr_kind[KBUS_NAME_STAR])
		return NULL;
	for (i = len; i > 0; i--) {
		if (name[i - 1] != '.')
			continue;
		node = node_lookup_locked(bus, KBUS_NAME_STAR, name, i - 1);
		if (node && node->replier)
			return node->replier;
	}
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_replier_for_locked);

static int node_listeners(struct kbus_name_node *node,
			  int (*fn)(struct kbus_binding *b, void *arg),
			  void *arg)
{
	struct kbus_binding *b, *tmp;
	int err;

	if (!node)
		return 0;
	list_for_each_entry_safe(b, tmp, &node->listeners, name_link) {
		err = fn(b, arg);
		if (err)
			return err;
	}
	return 0;
}

/**
 * kbus_visit_listeners_locked() - Call @fn for each listener of a name.
 * @bus: the bus.
 * @name: a valid name without wildcard.
 * @len: its length.
 * @fn: called with each binding and @arg; returns 0 to go on or an error
 *      to stop with.  It must not add or remove bindings.
 * @arg: its argument.
 *
 * Exact listeners come first, then ``%`` ones, then ``*`` ones from the
 * longest prefix to the shortest; each name's listeners in bind order.
 *
 * Context: The bus lock is held.
 * Return: 0, or the first error @fn returned.
 */
int kbus_visit_listeners_locked(struct kbus_bus *bus, const char *name,
				u32 len,
				int (*fn)(struct kbus_binding *b, void *arg),
				void *arg)
{
	struct kbus_name_node *node;
	int err;
	u32 i;

	kbus_lockdep_assert_bus(bus);

	err = node_listeners(node_lookup_locked(bus, KBUS_NAME_EXACT, name,
						len), fn, arg);
	if (err)
		return err;
	/* Most buses bind no wildcards: look for the last dot only if any. */
	if (bus->names.nr_kind[KBUS_NAME_PERCENT]) {
		node = node_lookup_locked(bus, KBUS_NAME_PERCENT, name,
					  last_dot(name, len));
		err = node_listeners(node, fn, arg);
		if (err)
			return err;
	}
	if (!bus->names.nr_kind[KBUS_NAME_STAR])
		return 0;
	for (i = len; i > 0; i--) {
		if (name[i - 1] != '.')
			continue;
		err = node_listeners(node_lookup_locked(bus, KBUS_NAME_STAR,
							name, i - 1), fn, arg);
		if (err)
			return err;
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(kbus_visit_listeners_locked);
