/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-account.h"
#include "pb-account-manager.h"
#include "pb-credentials.h"
#include "pb-folder-info.h"
#include "pb-remote-store.h"
#include "pb-service.h"
#include "pb-transport.h"

G_BEGIN_DECLS

/* Initialises the libraries the engine stands on (GMime). Call once, before any other engine
 * function, from the main thread. */
void pb_engine_init (void);

G_END_DECLS
