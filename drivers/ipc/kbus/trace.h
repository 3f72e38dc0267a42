/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KBUS - tracepoints
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#undef TRACE_SYSTEM
#define TRACE_SYSTEM kbus

#if !defined(_DRIVERS_IPC_KBUS_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _DRIVERS_IPC_KBUS_TRACE_H

#include <linux/tracepoint.h>

#include "kbus_internal.h"

TRACE_EVENT(kbus_send,
	    TP_PROTO(const struct kbus_bus *bus, u32 sender,
		     const struct kbus_msg *msg, int err),
	    TP_ARGS(bus, sender, msg, err),
	    TP_STRUCT__entry(__field(u32, bus)
			     __field(u32, sender)
			     __field(u32, network_id)
			     __field(u32, serial)
			     __field(u32, flags)
			     __field(u32, data_len)
			     __field(int, err)
			     __string(name, (const char *)msg->body)),
	    TP_fast_assign(__entry->bus = bus->index;
			   __entry->sender = sender;
			   __entry->network_id = msg->id.network_id;
			   __entry->serial = msg->id.serial_num;
			   __entry->flags = msg->flags;
			   __entry->data_len = msg->data_len;
			   __entry->err = err;
			   __assign_str(name);),
	    TP_printk("bus=%u from=%u id=%u:%u flags=0x%x len=%u name=%s err=%d",
		      __entry->bus, __entry->sender, __entry->network_id,
		      __entry->serial, __entry->flags, __entry->data_len,
		      __get_str(name), __entry->err)
);

DECLARE_EVENT_CLASS(kbus_copy_class,
		    TP_PROTO(const struct kbus_ksock *ks,
			     const struct kbus_msg *msg, u32 flags),
		    TP_ARGS(ks, msg, flags),
		    TP_STRUCT__entry(__field(u32, bus)
				     __field(u32, ksock)
				     __field(u32, network_id)
				     __field(u32, serial)
				     __field(u32, flags)),
		    TP_fast_assign(__entry->bus = ks->bus->index;
				   __entry->ksock = ks->id;
				   __entry->network_id = msg->id.network_id;
				   __entry->serial = msg->id.serial_num;
				   __entry->flags = flags;),
		    TP_printk("bus=%u ksock=%u id=%u:%u flags=0x%x",
			      __entry->bus, __entry->ksock,
			      __entry->network_id, __entry->serial,
			      __entry->flags)
);

DEFINE_EVENT(kbus_copy_class, kbus_deliver,
	     TP_PROTO(const struct kbus_ksock *ks, const struct kbus_msg *msg,
		      u32 flags),
	     TP_ARGS(ks, msg, flags)
);

DEFINE_EVENT(kbus_copy_class, kbus_drop,
	     TP_PROTO(const struct kbus_ksock *ks, const struct kbus_msg *msg,
		      u32 flags),
	     TP_ARGS(ks, msg, flags)
);

TRACE_EVENT(kbus_reply,
	    TP_PROTO(const struct kbus_bus *bus, u32 requester,
		     const struct kbus_msg_id *request, u32 replier,
		     bool synthetic),
	    TP_ARGS(bus, requester, request, replier, synthetic),
	    TP_STRUCT__entry(__field(u32, bus)
			     __field(u32, requester)
			     __field(u32, network_id)
			     __field(u32, serial)
			     __field(u32, replier)
			     __field(bool, synthetic)),
	    TP_fast_assign(__entry->bus = bus->index;
			   __entry->requester = requester;
			   __entry->network_id = request->network_id;
			   __entry->serial = request->serial_num;
			   __entry->replier = replier;
			   __entry->synthetic = synthetic;),
	    TP_printk("bus=%u requester=%u request=%u:%u replier=%u synthetic=%d",
		      __entry->bus, __entry->requester, __entry->network_id,
		      __entry->serial, __entry->replier, __entry->synthetic)
);

DECLARE_EVENT_CLASS(kbus_binding_class,
		    TP_PROTO(const struct kbus_ksock *ks, const char *name,
			     bool is_replier),
		    TP_ARGS(ks, name, is_replier),
		    TP_STRUCT__entry(__field(u32, bus)
				     __field(u32, ksock)
				     __field(bool, is_replier)
				     __string(name, name)),
		    TP_fast_assign(__entry->bus = ks->bus->index;
				   __entry->ksock = ks->id;
				   __entry->is_replier = is_replier;
				   __assign_str(name);),
		    TP_printk("bus=%u ksock=%u replier=%d name=%s",
			      __entry->bus, __entry->ksock,
			      __entry->is_replier, __get_str(name))
);

DEFINE_EVENT(kbus_binding_class, kbus_bind,
	     TP_PROTO(const struct kbus_ksock *ks, const char *name,
		      bool is_replier),
	     TP_ARGS(ks, name, is_replier)
);

DEFINE_EVENT(kbus_binding_class, kbus_unbind,
	     TP_PROTO(const struct kbus_ksock *ks, const char *name,
		      bool is_replier),
	     TP_ARGS(ks, name, is_replier)
);

#endif /* _DRIVERS_IPC_KBUS_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
