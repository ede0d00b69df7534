/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The data of tests/bench/ui-scale: N generated messages, written as a Maildir (for notmuch)
 * and added to a Postbote store (account "bench", folder INBOX) through the store API, the way
 * a sync stores them: summaries first, then bodies in chunks. The same seed gives the same
 * messages. Also times the store's own search for a word, in process.
 *
 *   ui-scale-fill STORE_DIR MAILDIR N WORD
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "pb-engine.h"
#include "pb-store.h"

#define CHUNK 1000

static const char *words[] = {
  "meeting", "release", "schedule", "review", "budget", "travel", "invoice", "design",
  "server", "backup", "kitchen", "garden", "weekend", "ticket", "concert", "project",
  "update", "question", "answer", "report", "summary", "draft", "photo", "holiday",
  "lunch", "dinner", "coffee", "train", "flight", "hotel", "package", "delivery",
  "contract", "offer", "price", "account", "password", "network", "printer", "monitor",
  "keyboard", "library", "module", "feature", "issue", "patch", "commit", "branch",
};

static const char *names[] = {
  "Anna Schmidt", "Ben Okafor", "Chen Wei", "Dana Weber", "Elif Yılmaz", "Farid Haddad",
  "Greta Nilsson", "Hugo Martin", "Ines Costa", "Jonas Berg", "Kenji Sato", "Lena Vogel",
};

static char *
make_message (GRand *rand,
              guint  i,
              guint  n,
              const char *rare)
{
  GString *body = g_string_new (NULL);
  GString *subject = g_string_new (NULL);
  const char *name = names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names))];
  g_autofree char *addr = g_ascii_strdown (name, -1);
  g_autoptr (GDateTime) date = NULL;
  g_autofree char *date_text = NULL;
  guint n_words = g_rand_int_range (rand, 40, 160);
  char *message;

  for (char *p = addr; *p; p++)
    if (*p == ' ')
      *p = '.';
  for (guint w = 0, k = g_rand_int_range (rand, 3, 7); w < k; w++)
    g_string_append_printf (subject, "%s%s", w ? " " : "",
                            words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
  for (guint w = 0; w < n_words; w++)
    {
      g_string_append (body, words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
      g_string_append (body, (w + 1) % 12 == 0 ? "\r\n" : " ");
    }
  /* One message in a hundred carries the word the benchmark searches for. */
  if (i % 100 == 7)
    g_string_append_printf (body, "\r\nAbout the %s, see above.\r\n", rare);

  /* Newest last in the files, one message every 5 minutes back from now. */
  date = g_date_time_new_from_unix_utc (1764000000 - (gint64) (n - i) * 300);
  date_text = g_date_time_format (date, "%a, %d %b %Y %H:%M:%S +0000");
  message = g_strdup_printf ("From: %s <%s@example.org>\r\n"
                             "To: Dana Weber <dana@example.org>\r\n"
                             "Subject: %s\r\n"
                             "Date: %s\r\n"
                             "Message-ID: <bench-%u@example.org>\r\n"
                             "MIME-Version: 1.0\r\n"
                             "Content-Type: text/plain; charset=utf-8\r\n"
                             "\r\n"
                             "%s\r\n",
                             name, addr, subject->str, date_text, i, body->str);
  g_string_free (body, TRUE);
  g_string_free (subject, TRUE);
  return message;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PbStore) store = NULL;
  g_autoptr (PbFolderInfo) inbox = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (4242);
  g_autofree char *cur = NULL;
  g_autoptr (GPtrArray) found = NULL;
  gint64 folder_id, start;
  guint n;

  if (argc != 5)
    {
      fprintf (stderr, "usage: %s STORE_DIR MAILDIR N WORD\n", argv[0]);
      return 2;
    }
  n = (guint) atoi (argv[3]);
  pb_engine_init ();

  store = pb_store_open (argv[1], &error);
  if (store == NULL)
    g_error ("%s", error->message);
  inbox = pb_folder_info_new ("INBOX", PB_FOLDER_ROLE_INBOX, TRUE);
  folder_id = pb_store_ensure_folder (store, "bench", inbox, &error);
  if (folder_id == 0 || !pb_store_set_folder_state (store, folder_id, 1, n + 1, 0, &error))
    g_error ("%s", error->message);

  cur = g_build_filename (argv[2], "cur", NULL);
  g_mkdir_with_parents (cur, 0755);
  {
    g_autofree char *new_dir = g_build_filename (argv[2], "new", NULL);
    g_autofree char *tmp_dir = g_build_filename (argv[2], "tmp", NULL);

    g_mkdir_with_parents (new_dir, 0755);
    g_mkdir_with_parents (tmp_dir, 0755);
  }

  start = g_get_monotonic_time ();
  for (guint base = 0; base < n; base += CHUNK)
    {
      guint count = MIN (CHUNK, n - base);
      g_autoptr (GPtrArray) summaries = g_ptr_array_new_with_free_func (
        (GDestroyNotify) pb_message_summary_free);
      g_autoptr (GPtrArray) raws = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      g_autofree guint32 *uids = g_new (guint32, count);
      guint stored = 0;

      for (guint k = 0; k < count; k++)
        {
          guint i = base + k;
          char *text = make_message (rand, i, n, argv[4]);
          gsize length = strlen (text);
          g_autofree char *path = g_strdup_printf ("%s/%u.bench:2,%s", cur, i,
                                                   i % 10 ? "S" : "");
          GBytes *raw = g_bytes_new_take (text, length);
          PbMessageSummary *summary = pb_store_parse_summary (raw);

          if (!g_file_set_contents (path, text, length, &error))
            g_error ("%s", error->message);
          summary->uid = i + 1;
          summary->size = length;
          summary->internaldate = summary->date;
          summary->flags = i % 10 ? PB_MESSAGE_FLAG_SEEN : 0;
          g_ptr_array_add (summaries, summary);
          g_ptr_array_add (raws, raw);
          uids[k] = i + 1;
        }
      if (!pb_store_add_messages (store, folder_id, summaries, &error)
          || !pb_store_set_bodies (store, folder_id, uids, (GBytes * const *) raws->pdata, count,
                                   &stored, &error))
        g_error ("%s", error->message);
    }
  printf ("fill %u %.3f\n", n, (g_get_monotonic_time () - start) / 1e6);

  /* The store's search in process, best of five (the first warms the page cache). */
  {
    double best = 1e9;

    for (guint run = 0; run < 5; run++)
      {
        g_clear_pointer (&found, g_ptr_array_unref);
        start = g_get_monotonic_time ();
        found = pb_store_search (store, argv[4], 500, &error);
        if (found == NULL)
          g_error ("%s", error->message);
        best = MIN (best, (g_get_monotonic_time () - start) / 1e3);
      }
    printf ("store-search %u %.3f\n", found->len, best);
  }
  return 0;
}
