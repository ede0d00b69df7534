/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include "pb-store-private.h"

/*
 * Full-text search of PbStore. Two FTS5 tables share the message ids as rowids:
 *
 * - messages_fts (tokenizer trigram) holds subject, sender and recipients. Every word the user
 *   types is looked up there as a substring, case-insensitively, in any script. Trigrams
 *   cannot find words shorter than three characters; those are matched with LIKE on the same
 *   columns (a scan, but of short fields only).
 * - messages_body_fts (tokenizer unicode61, diacritics removed) holds the body text. Trigrams
 *   made indexing bodies most of the cost of an initial sync, so bodies are indexed by words:
 *   a word of the query is a prefix there ("Fahrkart" finds "Fahrkarte", "Munchen" finds
 *   "München"). Chinese, Japanese and Korean have no spaces between words, so before indexing
 *   (and in the query) each CJK character is made a token of its own, and a CJK word of the
 *   query becomes a phrase of its characters: consecutive characters must match, as with a
 *   bigram index.
 *
 * A message matches when every word of the query matches, each in the short fields or in the
 * body. The user's text never reaches FTS5's query syntax: each word becomes a quoted string
 * (with its quotes doubled), so "AND(" or a lone quote are just text. A word without any
 * letter or digit ("%") has no tokens for the word index and is looked for with LIKE in the
 * body text instead.
 */

static gboolean
is_cjk (gunichar c)
{
  GUnicodeScript script;

  /* Everything below the Hangul Jamo block is neither; this keeps latin text fast. */
  if (c < 0x1100)
    return FALSE;
  script = g_unichar_get_script (c);
  return script == G_UNICODE_SCRIPT_HAN || script == G_UNICODE_SCRIPT_HIRAGANA
         || script == G_UNICODE_SCRIPT_KATAKANA || script == G_UNICODE_SCRIPT_HANGUL;
}

/* Whether unicode61 keeps @c in a token (its default categories L*, N*, Co). */
static gboolean
is_token_char (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_DECIMAL_NUMBER:
    case G_UNICODE_LETTER_NUMBER:
    case G_UNICODE_OTHER_NUMBER:
    case G_UNICODE_PRIVATE_USE:
      return TRUE;
    default:
      return FALSE;
    }
}

/**
 * pb_store_fts_body_text:
 * @text: valid UTF-8
 *
 * Returns: (transfer full): @text with a space on either side of each CJK character, so that
 *   unicode61 makes each of them a token
 */
char *
pb_store_fts_body_text (const char *text)
{
  GString *out;
  gboolean space_before = FALSE;   /* a space is due before the next character */
  gboolean at_space = TRUE;        /* the last character written was a space */
  const char *p;

  /* Most bodies have no CJK at all: copy them as they are. */
  for (p = text; *p; p++)
    if ((guchar) *p >= 0xe1)
      break;
  if (*p == '\0')
    return g_strdup (text);

  out = g_string_sized_new (strlen (text) + strlen (text) / 2);
  for (p = text; *p; )
    {
      const char *next = g_utf8_next_char (p);
      gunichar c = (guchar) *p < 0x80 ? (gunichar) *p : g_utf8_get_char (p);
      gboolean cjk = is_cjk (c);
      gboolean space = g_unichar_isspace (c);

      if ((cjk || space_before) && !at_space && !space)
        g_string_append_c (out, ' ');
      g_string_append_len (out, p, next - p);
      space_before = cjk;
      at_space = space;
      if (cjk)
        at_space = FALSE;
      p = next;
    }
  return g_string_free (out, FALSE);
}

static void
fts_body_func (sqlite3_context  *context,
               int               argc,
               sqlite3_value   **argv)
{
  const char *text = (const char *) sqlite3_value_text (argv[0]);

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    {
      sqlite3_result_value (context, argv[0]);
      return;
    }
  sqlite3_result_text (context, pb_store_fts_body_text (text), -1, g_free);
}

/* Registers pb_fts_body(text), which migration 2 uses on the bodies indexed before. */
void
pb_store_fts_register (sqlite3 *db)
{
  sqlite3_create_function (db, "pb_fts_body", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                           fts_body_func, NULL, NULL);
}

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

/* @word as an FTS5 string: quoted, its quotes doubled. */
static char *
fts_string (const char *word)
{
  GString *match = g_string_new ("\"");

  for (const char *p = word; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (match, '"');
      g_string_append_c (match, *p);
    }
  g_string_append_c (match, '"');
  return g_string_free (match, FALSE);
}

/* @word as a query of the body table: a phrase of its tokens (one per CJK character), the last
 * one a prefix unless it is CJK; %NULL if @word has no tokens. */
static char *
body_query (const char *word)
{
  g_autofree char *spaced = NULL;
  gunichar last = 0;

  for (const char *p = word; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (is_token_char (c))
        last = c;
    }
  if (last == 0)
    return NULL;
  spaced = fts_string (word);
  if (is_cjk (last))
    return pb_store_fts_body_text (spaced);
  else
    {
      g_autofree char *text = pb_store_fts_body_text (spaced);

      return g_strconcat (text, "*", NULL);
    }
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
 * @query: the user's text; every word must occur in the message: as a substring of the subject,
 *   sender or recipients, or as the start of a word (a run of characters for CJK) of the body
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
  g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) ids = g_string_new (NULL);
  g_autoptr(GString) sql = g_string_new (NULL);
  PbStoreDb *db;
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  results = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_message_summary_free);
  if (!g_utf8_validate (query, -1, NULL))
    return g_steal_pointer (&results);

  /* The ids of the matches: for each word, the messages that have it in a short field or in
   * the body, intersected over the words. SQLite cannot bracket compound SELECTs, hence the
   * subqueries. */
  words = split_words (query);
  for (guint i = 0; i < words->len; i++)
    {
      const char *word = g_ptr_array_index (words, i);
      char *body = body_query (word);

      if (i > 0)
        g_string_append (ids, " INTERSECT ");
      g_string_append (ids, "SELECT id FROM (");
      if (g_utf8_strlen (word, -1) >= 3)
        {
          g_ptr_array_add (params, fts_string (word));
          g_string_append_printf (ids,
                                  "SELECT rowid AS id FROM messages_fts"
                                  " WHERE messages_fts MATCH ?%u",
                                  params->len);
        }
      else
        {
          g_ptr_array_add (params, like_pattern (word));
          g_string_append_printf (ids,
                                  "SELECT rowid AS id FROM messages_fts"
                                  " WHERE subject LIKE ?%1$u ESCAPE '\\'"
                                  " OR sender LIKE ?%1$u ESCAPE '\\'"
                                  " OR recipients LIKE ?%1$u ESCAPE '\\'",
                                  params->len);
        }
      if (body != NULL)
        {
          g_ptr_array_add (params, body);
          g_string_append_printf (ids,
                                  " UNION SELECT rowid FROM messages_body_fts"
                                  " WHERE messages_body_fts MATCH ?%u",
                                  params->len);
        }
      else
        {
          g_ptr_array_add (params, like_pattern (word));
          g_string_append_printf (ids,
                                  " UNION SELECT rowid FROM messages_body_fts"
                                  " WHERE body LIKE ?%u ESCAPE '\\'",
                                  params->len);
        }
      g_string_append_c (ids, ')');
    }
  if (words->len == 0)
    return g_steal_pointer (&results);

  g_string_append_printf (sql,
                          "SELECT " PB_STORE_SUMMARY_COLUMNS ", f.account, f.path"
                          " FROM messages m JOIN folders f ON f.id = m.folder_id"
                          " WHERE m.id IN (%s)"
                          " ORDER BY m.date DESC, m.id DESC LIMIT ?%u",
                          ids->str, params->len + 1);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return NULL;
  rc = sqlite3_prepare_v2 (db->db, sql->str, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      for (guint i = 0; i < params->len; i++)
        sqlite3_bind_text (stmt, i + 1, g_ptr_array_index (params, i), -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, params->len + 1, limit > 0 ? (gint64) limit : -1);

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
