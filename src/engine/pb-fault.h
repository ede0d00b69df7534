/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Named crash points for the fault-injection tests ("kill -9 after the RETR", "after the final
 * dot"). A test sets POSTBOTE_FAULT to a comma-separated list of NAME or NAME#N; the Nth time
 * the code passes pb_fault_point (NAME) (the first time without #N) the process sends itself
 * SIGKILL, exactly like `kill -9` at that moment: no atexit handlers, no flushing. Without the
 * variable a point costs one pointer comparison.
 */
void pb_fault_point (const char *name);

G_END_DECLS
