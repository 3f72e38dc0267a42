/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbus mqtt - a KBUS bus joined to an MQTT 5 broker
 *
 * Copyright (C) 2026 The KBUS Authors
 */

#ifndef _KBUS_MQTT_H
#define _KBUS_MQTT_H

#include <stdbool.h>

/*
 * "kbus mqtt": run the MQTT 5 bridge (argv[0] is "mqtt").  @open_bus opens
 * a Ksock (O_RDWR) on the bus given with kbus -b, or returns -errno after
 * printing why; @verbose logs what the bridge does on stderr.  Returns the
 * exit status: 0, 1 usage error, 2 KBUS or system error.
 */
int kbus_mqtt_main(int argc, char **argv, int (*open_bus)(void), bool verbose);

#endif /* _KBUS_MQTT_H */
