// SPDX-License-Identifier: GPL-2.0
/*
 * KBUS - tracepoints
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#define CREATE_TRACE_POINTS
#include "trace.h"
