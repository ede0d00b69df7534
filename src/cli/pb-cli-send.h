/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stdio.h>

/* postbote-cli send NAME [FILE…] and postbote-cli outbox [NAME] [--flush|--retry|--cancel]. */
int pb_cli_send   (int    argc,
                   char **argv);
int pb_cli_outbox (int    argc,
                   char **argv);
/* The lines of `postbote-cli --help` about sending. */
void pb_cli_send_print_help (FILE *out);
