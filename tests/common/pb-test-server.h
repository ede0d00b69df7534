/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * A private mail server for one test: Dovecot (IMAP with STARTTLS, IMAPS, POP3 with STLS,
 * POP3S, LMTP) and an SMTP server (STARTTLS submission and implicit TLS, AUTH, delivering into
 * Dovecot over LMTP), all on free 127.0.0.1 ports in a temporary folder, with a generated CA.
 * Started and stopped by build-aux/mailserver/pb-mailserver (path in $PB_MAILSERVER).
 */

#define PB_TEST_USER           "alice"
#define PB_TEST_PASSWORD       "Correct-Horse-7"
#define PB_TEST_USER2          "bob"
#define PB_TEST_PASSWORD2      "Battery-Staple-9"

typedef struct _PbTestServer PbTestServer;

/* seed: NULL or "none" (empty mailboxes with the special folders), or "demo" (the demo set).
 * Aborts the test with a clear message if the server cannot start. */
PbTestServer *pb_test_server_start    (const char    *seed);
void          pb_test_server_stop     (PbTestServer  *server);
/* name: "imap", "imaps", "pop3", "pop3s", "lmtp", "smtp", "smtps" */
guint16       pb_test_server_get_port (PbTestServer  *server,
                                       const char    *name);
const char   *pb_test_server_get_ca_file (PbTestServer *server);
const char   *pb_test_server_get_dir  (PbTestServer  *server);
/* Delivers RFC 5322 bytes to user over LMTP, like a real MTA would. */
gboolean      pb_test_server_deliver  (PbTestServer  *server,
                                       const char    *user,
                                       const char    *message,
                                       GError       **error);
/* Runs doveadm with this server's config, e.g. {"mailbox", "list", "-u", "alice", NULL};
 * stdout is returned in out_stdout if not NULL. */
gboolean      pb_test_server_doveadm  (PbTestServer  *server,
                                       const char * const *args,
                                       char         **out_stdout,
                                       GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PbTestServer, pb_test_server_stop)

G_END_DECLS
