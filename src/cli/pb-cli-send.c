/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-cli"

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <gio/gunixinputstream.h>

#include "pb-cli-send.h"
#include "pb-outbox.h"
#include "pb-store.h"

/*
 * postbote-cli send / outbox: the same outbox as the app, so a message queued here is durable
 * before anything goes over the network, and a message the app queued can be flushed here.
 */

enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

static int
say_error (const char *prefix,
           const char *message)
{
  g_autofree char *line = g_strdup (message);

  /* One line: a server's reply may carry newlines. */
  g_strdelimit (line, "\r\n", ' ');
  if (prefix != NULL)
    fprintf (stderr, "postbote-cli: %s: %s\n", prefix, line);
  else
    fprintf (stderr, "postbote-cli: %s\n", line);
  return EXIT_FAILED;
}

static int
usage (const char *command,
       const char *message)
{
  fprintf (stderr, _("postbote-cli: %s (see “postbote-cli %s --help”)\n"), message, command);
  return EXIT_USAGE;
}

static void
result_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

typedef struct {
  GHashTable *pending;   /* ids we wait for */
  guint       failed;
  guint       sent;
} Waiter;

static void
entry_changed_cb (PbOutbox      *outbox,
                  PbOutboxEntry *entry,
                  Waiter        *waiter)
{
  const char *id = pb_outbox_entry_get_id (entry);
  const char *subject = pb_outbox_entry_get_subject (entry);
  const char *error = pb_outbox_entry_get_error (entry);
  PbOutboxState state = pb_outbox_entry_get_state (entry);
  g_autofree char *what = NULL;

  if (!g_hash_table_contains (waiter->pending, id))
    return;
  what = g_strdup_printf ("%s “%s”", id, subject);
  switch (state)
    {
    case PB_OUTBOX_STATE_DONE:
      printf (_("Sent: %s\n"), what);
      waiter->sent++;
      break;
    case PB_OUTBOX_STATE_FAILED:
      say_error (what, error ? error : _("not sent"));
      waiter->failed++;
      break;
    case PB_OUTBOX_STATE_UNCERTAIN:
      {
        g_autofree char *text = g_strdup_printf (
          _("%s — it may have been sent; check the Sent folder or ask the recipient, then "
            "“postbote-cli outbox --retry %s” or “--cancel %s”"),
          error ? error : "", id, id);
        say_error (what, text);
        waiter->failed++;
      }
      break;
    case PB_OUTBOX_STATE_QUEUED:
    case PB_OUTBOX_STATE_SENT:
      if (error == NULL)
        return;
      {
        g_autofree char *text = g_strdup_printf (
          state == PB_OUTBOX_STATE_SENT
          ? _("sent, but not yet copied to the Sent folder (%s); “postbote-cli outbox "
              "--flush” tries again")
          : _("not sent yet (%s); it stays in the outbox, “postbote-cli outbox --flush” "
              "tries again"), error);
        say_error (what, text);
        waiter->failed++;
      }
      break;
    case PB_OUTBOX_STATE_WAITING:
    case PB_OUTBOX_STATE_SENDING:
    default:
      return;
    }
  g_hash_table_remove (waiter->pending, id);
}

static void
set_true (gpointer  data,
          GObject  *where_the_object_was)
{
  *(gboolean *) data = TRUE;
}

/* Drops the outbox and waits until its disk thread has finished every state write. */
static void
close_outbox (PbOutbox *outbox)
{
  gboolean gone = FALSE;

  pb_outbox_stop (outbox);
  g_object_weak_ref (G_OBJECT (outbox), set_true, &gone);
  g_object_unref (outbox);
  while (!gone)
    g_main_context_iteration (NULL, TRUE);
}

static PbOutbox *
open_outbox (gboolean   with_store,
             GError   **error)
{
  g_autoptr(PbAccountManager) manager = pb_account_manager_new (NULL);
  g_autoptr(PbStore) store = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(PbOutbox) outbox = NULL;

  if (!pb_account_manager_load (manager, error))
    return NULL;
  if (with_store)
    {
      g_autofree char *dir = pb_default_data_dir ();
      store = pb_store_open (dir, error);
      if (store == NULL)
        return NULL;
    }
  outbox = pb_outbox_new (g_getenv ("POSTBOTE_OUTBOX_DIR"), manager, store);
  /* No undo delay: the command line has no "undo" button. */
  pb_outbox_set_delay (outbox, 0);
  pb_outbox_load_async (outbox, NULL, result_cb, &result);
  if (!pb_outbox_load_finish (outbox, wait_for (&result), error))
    {
      close_outbox (g_steal_pointer (&outbox));
      return NULL;
    }
  if (!pb_outbox_has_lock (outbox))
    fprintf (stderr, "%s\n",
             _("postbote-cli: another Postbote process is sending from the outbox; waiting "
               "until it stops (Ctrl+C leaves the messages queued)"));
  return g_steal_pointer (&outbox);
}

static int
wait_and_close (PbOutbox *outbox,
                Waiter   *waiter)
{
  int status;

  while (g_hash_table_size (waiter->pending) > 0)
    g_main_context_iteration (NULL, TRUE);
  status = waiter->failed > 0 ? EXIT_FAILED : EXIT_OK;
  close_outbox (outbox);
  return status;
}

int
pb_cli_send (int    argc,
             char **argv)
{
  gboolean no_sent_copy = FALSE;
  const GOptionEntry entries[] = {
    { "no-sent-copy", 0, 0, G_OPTION_ARG_NONE, &no_sent_copy,
      N_("Do not copy the messages to the Sent folder (for servers that do it themselves)"),
      NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("NAME [FILE…] — send messages"));
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  Waiter waiter = { pending, 0, 0 };
  PbOutbox *outbox;
  const char *name;
  guint queued = 0;

  g_option_context_set_summary (context, "send");
  g_option_context_set_description (context,
    _("Queues each FILE (an RFC 5322 message; standard input without FILE) in the outbox "
      "and sends it from account NAME: envelope sender is the account's address, recipients "
      "are To, Cc and Bcc (Bcc is removed from what is sent). Several files go over one "
      "connection. Waits until every message is sent and copied to the Sent folder."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage ("send", error->message);
  if (argc < 2)
    return usage ("send", _("send needs an account NAME"));
  name = argv[1];

  /* Read everything first: a missing file stops before anything is queued. */
  if (argc == 2)
    {
      g_autoptr(GInputStream) in = g_unix_input_stream_new (STDIN_FILENO, FALSE);
      g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();

      if (g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL,
                                  &error) < 0)
        return say_error (_("standard input"), error->message);
      g_ptr_array_add (messages,
                       g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out)));
    }
  for (int i = 2; i < argc; i++)
    {
      char *contents;
      gsize length;

      if (!g_file_get_contents (argv[i], &contents, &length, &error))
        return say_error (NULL, error->message);
      g_ptr_array_add (messages, g_bytes_new_take (contents, length));
    }

  outbox = open_outbox (TRUE, &error);
  if (outbox == NULL)
    return say_error (NULL, error->message);
  g_signal_connect (outbox, "entry-changed", G_CALLBACK (entry_changed_cb), &waiter);

  for (guint i = 0; i < messages->len; i++)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) queue_error = NULL;
      char *id;

      pb_outbox_queue_full_async (outbox, name, g_ptr_array_index (messages, i),
                                  no_sent_copy ? PB_OUTBOX_QUEUE_NO_SENT_COPY
                                               : PB_OUTBOX_QUEUE_NONE,
                                  NULL, result_cb, &result);
      id = pb_outbox_queue_finish (outbox, wait_for (&result), &queue_error);
      if (id == NULL)
        {
          say_error (argc == 2 ? _("standard input") : argv[2 + i], queue_error->message);
          waiter.failed++;
          continue;
        }
      g_hash_table_add (pending, id);
      /* Sending starts with the first message while the others are being queued; the
       * transport keeps its session, so the batch shares one connection. */
      if (queued++ == 0)
        pb_outbox_start (outbox);
    }
  return wait_and_close (outbox, &waiter);
}

static void
print_entry (PbOutboxEntry *e)
{
  g_autofree char *recipients = g_strjoinv (", ", (char **) pb_outbox_entry_get_recipients (e));
  const char *error = pb_outbox_entry_get_error (e);
  g_autofree char *error_line = g_strdup (error ? error : "");

  g_strdelimit (error_line, "\r\n\t", ' ');
  printf ("%s\t%s\t%s\t%u\t%s\t%s\t%s\n", pb_outbox_entry_get_id (e),
          pb_outbox_state_to_string (pb_outbox_entry_get_state (e)),
          pb_outbox_entry_get_account (e), pb_outbox_entry_get_attempts (e),
          pb_outbox_entry_get_subject (e), recipients, error_line);
}

int
pb_cli_outbox (int    argc,
               char **argv)
{
  gboolean flush = FALSE;
  g_autofree char *retry = NULL;
  g_autofree char *cancel = NULL;
  const GOptionEntry entries[] = {
    { "flush", 0, 0, G_OPTION_ARG_NONE, &flush,
      N_("Send what is queued now (not failed or uncertain messages) and wait"), NULL },
    { "retry", 0, 0, G_OPTION_ARG_STRING, &retry,
      N_("Send message ID again (also one that may have been sent) and wait"), N_("ID") },
    { "cancel", 0, 0, G_OPTION_ARG_STRING, &cancel,
      N_("Remove message ID from the outbox without sending it"), N_("ID") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("[NAME] — the outbox"));
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) list = NULL;
  Waiter waiter = { pending, 0, 0 };
  const char *name = NULL;
  PbOutbox *outbox;

  g_option_context_set_summary (context, "outbox");
  g_option_context_set_description (context,
    _("Lists the outbox: ID, state (waiting, queued, sending, sent, uncertain, failed), "
      "account, attempts, subject, recipients and the last error, tab-separated."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage ("outbox", error->message);
  if (argc > 2)
    return usage ("outbox", _("outbox takes at most one account NAME"));
  if ((flush ? 1 : 0) + (retry ? 1 : 0) + (cancel ? 1 : 0) > 1)
    return usage ("outbox", _("use only one of --flush, --retry and --cancel"));
  name = argc == 2 ? argv[1] : NULL;

  outbox = open_outbox (flush || retry, &error);
  if (outbox == NULL)
    return say_error (NULL, error->message);

  if (cancel != NULL)
    {
      int status = EXIT_OK;

      if (!pb_outbox_cancel (outbox, cancel, &error))
        status = say_error (NULL, error->message);
      close_outbox (outbox);
      return status;
    }

  list = pb_outbox_list (outbox);
  if (!flush && retry == NULL)
    {
      for (guint i = 0; i < list->len; i++)
        {
          PbOutboxEntry *e = g_ptr_array_index (list, i);
          if (name == NULL || g_str_equal (name, pb_outbox_entry_get_account (e)))
            print_entry (e);
        }
      close_outbox (outbox);
      return EXIT_OK;
    }

  g_signal_connect (outbox, "entry-changed", G_CALLBACK (entry_changed_cb), &waiter);
  if (retry != NULL)
    {
      if (!pb_outbox_retry (outbox, retry, &error))
        {
          close_outbox (outbox);
          return say_error (NULL, error->message);
        }
      g_hash_table_add (pending, g_strdup (retry));
    }
  else
    for (guint i = 0; i < list->len; i++)
      {
        PbOutboxEntry *e = g_ptr_array_index (list, i);
        PbOutboxState state = pb_outbox_entry_get_state (e);

        if (name != NULL && !g_str_equal (name, pb_outbox_entry_get_account (e)))
          continue;
        if (state != PB_OUTBOX_STATE_WAITING && state != PB_OUTBOX_STATE_QUEUED
            && state != PB_OUTBOX_STATE_SENT)
          continue;
        g_hash_table_add (pending, g_strdup (pb_outbox_entry_get_id (e)));
        pb_outbox_retry (outbox, pb_outbox_entry_get_id (e), NULL);
      }
  /* retry() emitted entry-changed without an error: nothing was decided yet. */
  pb_outbox_start (outbox);
  return wait_and_close (outbox, &waiter);
}

void
pb_cli_send_print_help (FILE *out)
{
  fprintf (out, "%s",
           _("\n"
             "Sending:\n"
             "  send [--no-sent-copy] NAME [FILE…]\n"
             "                          send messages (standard input without FILE) through\n"
             "                          the outbox; waits until sent and copied to Sent\n"
             "  outbox [NAME] [--flush | --retry ID | --cancel ID]\n"
             "                          list the outbox, send what is queued, retry or\n"
             "                          discard one message\n"));
}
