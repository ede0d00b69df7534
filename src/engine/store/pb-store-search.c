/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include "pb-store-private.h"

/*
 * Full-text search of PbStore. The index is an FTS5 table with the trigram tokenizer, so every
 * word the user types is looked up as a substring, case-insensitively, in the subject, the
 * sender, the recipients and the body text; this works the same for German compounds and for
 * Japanese, which has no spaces between words.
 *
 * The user's text never reaches FTS5's query syntax: each word becomes a quoted string (with
 * its quotes doubled), so "AND(" or a lone quote are just text. Trigrams cannot find words
 * shorter than three characters (a two-character Japanese word is common); those are matched
 * with LIKE on the same columns, which the index cannot help with, so they narrow a MATCH when
 * there is one and scan the table only when the query has nothing longer.
 */

/* Words of the query, split on any Unicode space. */
static GPtrArray *
split_words (const char *query)
{
  GPtrArray *words = g_ptr_array_new_with_free_func (g_free);
  const char *start = NULL;

  for (const char *p = query; ; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gboolean space = c == 0 || g_unichar_isspace (c);

      if (!space && start == NULL)
        start = p;
      else if (space && start != NULL)
        {
          g_ptr_array_add (words, g_strndup (start, p - start));
          start = NULL;
        }
      if (c == 0)
        break;
    }
  return words;
}

static void
append_fts_string (GString    *match,
                   const char *word)
{
  if (match->len > 0)
    g_string_append_c (match, ' ');
  g_string_append_c (match, '"');
  for (const char *p = word; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (match, '"');
      g_string_append_c (match, *p);
    }
  g_string_append_c (match, '"');
}

static char *
like_pattern (const char *word)
{
  GString *pattern = g_string_new ("%");

  for (const char *p = word; *p; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (pattern, '\\');
      g_string_append_c (pattern, *p);
    }
  g_string_append_c (pattern, '%');
  return g_string_free (pattern, FALSE);
}

/**
 * pb_store_search:
 * @query: the user's text; every word must occur (as a substring) in the message
 * @limit: the most messages to return, 0 for all
 *
 * Searches all accounts and folders.
 *
 * Returns: (transfer full) (element-type PbMessageSummary): the matching messages newest
 *   first, with @account and @folder_path set, or %NULL with @error set
 */
GPtrArray *
pb_store_search (PbStore     *self,
                 const char  *query,
                 guint        limit,
                 GError     **error)
{
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) words = NULL;
  g_autoptr(GPtrArray) likes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) match = g_string_new (NULL);
  g_autoptr(GString) sql = g_string_new (NULL);
  PbStoreDb *db;
  sqlite3_stmt *stmt = NULL;
  int rc;
  int param = 1;

  g_return_val_if_fail (PB_IS_STORE (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  results = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_message_summary_free);
  if (!g_utf8_validate (query, -1, NULL))
    return g_steal_pointer (&results);

  words = split_words (query);
  for (guint i = 0; i < words->len; i++)
    {
      const char *word = g_ptr_array_index (words, i);

      if (g_utf8_strlen (word, -1) >= 3)
        append_fts_string (match, word);
      else
        g_ptr_array_add (likes, like_pattern (word));
    }
  if (match->len == 0 && likes->len == 0)
    return g_steal_pointer (&results);

  /* CROSS JOIN keeps the planner from walking all messages by date and probing the index for
   * each: the matches come first, then they are sorted. */
  g_string_append (sql,
                   "SELECT " PB_STORE_SUMMARY_COLUMNS ", f.account, f.path"
                   " FROM messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid"
                   " JOIN folders f ON f.id = m.folder_id WHERE 1");
  if (match->len > 0)
    g_string_append_printf (sql, " AND messages_fts MATCH ?%d", param++);
  for (guint i = 0; i < likes->len; i++, param++)
    g_string_append_printf (sql,
                            " AND (messages_fts.subject LIKE ?%1$d ESCAPE '\\'"
                            " OR messages_fts.sender LIKE ?%1$d ESCAPE '\\'"
                            " OR messages_fts.recipients LIKE ?%1$d ESCAPE '\\'"
                            " OR messages_fts.body LIKE ?%1$d ESCAPE '\\')",
                            param);
  g_string_append_printf (sql, " ORDER BY m.date DESC, m.id DESC LIMIT ?%d", param);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return NULL;
  rc = sqlite3_prepare_v2 (db->db, sql->str, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      param = 1;
      if (match->len > 0)
        sqlite3_bind_text (stmt, param++, match->str, -1, SQLITE_STATIC);
      for (guint i = 0; i < likes->len; i++)
        sqlite3_bind_text (stmt, param++, g_ptr_array_index (likes, i), -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, param, limit > 0 ? (gint64) limit : -1);

      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          PbMessageSummary *summary = pb_store_summary_from_row (stmt);

          summary->account = pb_store_column_text (stmt, PB_STORE_SUMMARY_N_COLUMNS);
          summary->folder_path = pb_store_column_text (stmt, PB_STORE_SUMMARY_N_COLUMNS + 1);
          g_ptr_array_add (results, summary);
        }
    }
  if (rc != SQLITE_DONE)
    pb_store_set_sqlite_error (error, db->db, rc, "search");
  sqlite3_finalize (stmt);
  pb_store_read_end (self, db);

  return rc == SQLITE_DONE ? g_steal_pointer (&results) : NULL;
}
