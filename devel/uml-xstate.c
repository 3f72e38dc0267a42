// SPDX-License-Identifier: GPL-2.0
/*
 * uml-xstate.so: preloaded into the UML kernel by devel/boot-uml, so that
 * the 6.12 UML kernel can run user processes on a host whose CPU has a
 * larger XSAVE area than UML 6.12 expects.
 *
 * UML 6.12 saves and restores the floating-point registers of the host
 * processes that run its user processes with PTRACE_GETREGSET and
 * PTRACE_SETREGSET (NT_X86_XSTATE) and a buffer of a fixed size, 2696
 * bytes: the XSAVE area up to AVX-512 and PKRU.  The host kernel truncates
 * a shorter GETREGSET but refuses, with EFAULT, a SETREGSET of any size
 * but its own full one, which is 11008 bytes on a CPU with AMX.  UML then
 * kills the first process it starts ("userspace - ptrace set fp regs
 * failed, errno = 14", "Attempted to kill init!").
 *
 * This library pads such a SETREGSET to the host's size.  The state
 * components that lie past the end of UML's buffer are marked as being in
 * their initial state: UML's processes cannot have changed them, since
 * the only ones there (AMX) need a permission that only the UML kernel
 * could have asked the host for, and it never does.  Every other call goes
 * to the C library's ptrace() untouched, and so does everything when the
 * sizes agree.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* The XSAVE header: xstate_bv, the components in use, at byte 512. */
#define XSAVE_HDR_OFFSET	512
#define XSTATE_MAX		(64 << 10)

typedef long (*ptrace_fn)(enum __ptrace_request, ...);

static unsigned char full[XSTATE_MAX] __attribute__((aligned(64)));

/*
 * The host's size of NT_X86_XSTATE, as a large GETREGSET reports it, or 0
 * if it cannot be known (asked once).
 */
static size_t xstate_size(pid_t pid)
{
	struct iovec iov = { .iov_base = full, .iov_len = sizeof(full) };
	static size_t host_size;
	static int asked;

	if (!asked) {
		asked = 1;
		if (syscall(SYS_ptrace, PTRACE_GETREGSET, pid, NT_X86_XSTATE,
			    &iov) == 0)
			host_size = iov.iov_len;
	}
	return host_size;
}

/*
 * The state components that do not fit in @len bytes (computed once:
 * CPUID traps to the hypervisor in a virtual machine, and UML calls this
 * at every return to a user process).
 */
static uint64_t components_past(size_t len)
{
	static uint64_t mask;
	static size_t mask_len;
	unsigned int eax, ebx, ecx, edx, i;

	if (mask_len == len)
		return mask;
	mask = 0;
	/* CPUID leaf 0xd, sub-leaf i >= 2: size (eax) and offset (ebx). */
	for (i = 2; i < 63; i++) {
		__cpuid_count(0xd, i, eax, ebx, ecx, edx);
		if (eax && ebx + eax > len)
			mask |= 1ULL << i;
	}
	mask_len = len;
	return mask;
}

long ptrace(enum __ptrace_request req, ...)
{
	static ptrace_fn libc_ptrace;
	struct iovec *iov, padded;
	void *addr, *data;
	uint64_t bv;
	va_list ap;
	size_t size;
	pid_t pid;

	va_start(ap, req);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);

	if (!libc_ptrace)
		libc_ptrace = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
	if (!libc_ptrace) {
		errno = ENOSYS;
		return -1;
	}
	iov = data;
	/* The host takes the regset type as an unsigned int. */
	if (req != PTRACE_SETREGSET ||
	    (unsigned int)(uintptr_t)addr != NT_X86_XSTATE ||
	    !iov || iov->iov_len <= XSAVE_HDR_OFFSET + sizeof(bv))
		return libc_ptrace(req, pid, addr, data);
	size = xstate_size(pid);
	if (!size || size <= iov->iov_len || size > sizeof(full))
		return libc_ptrace(req, pid, addr, data);

	memcpy(full, iov->iov_base, iov->iov_len);
	memset(full + iov->iov_len, 0, size - iov->iov_len);
	memcpy(&bv, full + XSAVE_HDR_OFFSET, sizeof(bv));
	bv &= ~components_past(iov->iov_len);
	memcpy(full + XSAVE_HDR_OFFSET, &bv, sizeof(bv));
	padded.iov_base = full;
	padded.iov_len = size;
	return libc_ptrace(req, pid, addr, &padded);
}
