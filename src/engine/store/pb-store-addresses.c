/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include <string.h>
#include <gmime/gmime.h>

#include "pb-store-addresses.h"
#include "pb-store-private.h"

/*
 * Address completion: the distinct addresses of senders and recipients in the store that
 * start with what the user typed (the address, or any word of the name), most frequent first.
 */

void
pb_address_suggestion_free (PbAddressSuggestion *suggestion)
{
  if (suggestion == NULL)
    return;
  g_free (suggestion->name);
  g_free (suggestion->email);
  g_free (suggestion);
}

/**
 * pb_address_suggestion_format:
 *
 * Returns: (transfer full): "Name <email>" (quoted as RFC 5322 needs), or the bare address
 */
char *
pb_address_suggestion_format (PbAddressSuggestion *suggestion)
{
  InternetAddress *address;
  char *text;

  g_return_val_if_fail (suggestion != NULL, NULL);

  if (suggestion->name == NULL || *suggestion->name == '\0')
    return g_strdup (suggestion->email);
  address = internet_address_mailbox_new (suggestion->name, suggestion->email);
  text = internet_address_to_string (address, NULL, FALSE);
  g_object_unref (address);
  return text;
}

/* Whether @prefix (casefolded) starts @email or one word of @name. */
static gboolean
matches (const char *folded_prefix,
         const char *name,
         const char *email)
{
  g_autofree char *folded_email = g_utf8_casefold (email, -1);

  if (g_str_has_prefix (folded_email, folded_prefix))
    return TRUE;
  if (name != NULL && g_utf8_validate (name, -1, NULL))
    {
      g_autofree char *folded_name = g_utf8_casefold (name, -1);
      const char *p = folded_name;

      while (p != NULL && *p != '\0')
        {
          if (g_str_has_prefix (p, folded_prefix))
            return TRUE;
          p = strpbrk (p, " \t\"'(.-");
          if (p != NULL)
            p++;
        }
    }
  return FALSE;
}

static void
count_address (GHashTable *table,
               const char *folded_prefix,
               const char *name,
               const char *email)
{
  PbAddressSuggestion *suggestion;
  g_autofree char *key = NULL;

  if (email == NULL || strchr (email, '@') == NULL || !g_utf8_validate (email, -1, NULL))
    return;
  if (!matches (folded_prefix, name, email))
    return;

  key = g_utf8_casefold (email, -1);
  suggestion = g_hash_table_lookup (table, key);
  if (suggestion == NULL)
    {
      suggestion = g_new0 (PbAddressSuggestion, 1);
      suggestion->email = g_strdup (email);
      g_hash_table_insert (table, g_steal_pointer (&key), suggestion);
    }
  suggestion->count++;
  /* Rows come newest first: the first name seen is the newest. */
  if (suggestion->name == NULL && name != NULL && *name != '\0' && g_utf8_validate (name, -1, NULL))
    suggestion->name = g_strdup (name);
}

static void
count_list (GHashTable *table,
            const char *folded_prefix,
            const char *text)
{
  InternetAddressList *list;

  if (text == NULL || *text == '\0')
    return;
  list = internet_address_list_parse (NULL, text);
  if (list == NULL)
    return;
  for (int i = 0; i < internet_address_list_length (list); i++)
    {
      InternetAddress *address = internet_address_list_get_address (list, i);

      if (INTERNET_ADDRESS_IS_MAILBOX (address))
        count_address (table, folded_prefix, internet_address_get_name (address),
                       internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)));
    }
  g_object_unref (list);
}

static int
compare_suggestions (gconstpointer a,
                     gconstpointer b)
{
  const PbAddressSuggestion *x = *(PbAddressSuggestion **) a;
  const PbAddressSuggestion *y = *(PbAddressSuggestion **) b;

  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return g_ascii_strcasecmp (x->email, y->email);
}

static char *
like_pattern (const char *prefix)
{
  GString *out = g_string_new ("%");

  for (const char *p = prefix; *p != '\0'; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '%');
  return g_string_free (out, FALSE);
}

/**
 * pb_store_query_addresses:
 * @prefix: what the user typed (at least one character)
 * @limit: the most suggestions to return
 *
 * Blocks on SQLite: use pb_store_query_addresses_async() from the UI thread.
 *
 * Returns: (transfer full) (element-type PbAddressSuggestion): the matches, most frequent
 *   first, or %NULL with @error set
 */
GPtrArray *
pb_store_query_addresses (PbStore     *self,
                          const char  *prefix,
                          guint        limit,
                          GError     **error)
{
  static const char sql[] =
    "SELECT from_name, from_addr, to_list, cc_list FROM messages"
    " WHERE from_addr LIKE ?1 ESCAPE '\\' OR from_name LIKE ?1 ESCAPE '\\'"
    "    OR to_list LIKE ?1 ESCAPE '\\' OR cc_list LIKE ?1 ESCAPE '\\'"
    " ORDER BY date DESC LIMIT ?2";
  g_autoptr(GHashTable) table = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *folded = NULL;
  g_autofree char *pattern = NULL;
  sqlite3_stmt *stmt = NULL;
  PbStoreDb *db;
  GHashTableIter iter;
  gpointer value;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), NULL);
  g_return_val_if_fail (prefix != NULL, NULL);

  results = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_address_suggestion_free);
  if (*prefix == '\0' || !g_utf8_validate (prefix, -1, NULL))
    return g_steal_pointer (&results);

  folded = g_utf8_casefold (prefix, -1);
  pattern = like_pattern (prefix);
  table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return NULL;
  rc = sqlite3_prepare_v2 (db->db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, pattern, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 2, PB_STORE_ADDRESSES_MAX_ROWS);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          count_address (table, folded, (const char *) sqlite3_column_text (stmt, 0),
                         (const char *) sqlite3_column_text (stmt, 1));
          count_list (table, folded, (const char *) sqlite3_column_text (stmt, 2));
          count_list (table, folded, (const char *) sqlite3_column_text (stmt, 3));
        }
    }
  if (rc != SQLITE_DONE)
    pb_store_set_sqlite_error (error, db->db, rc, "address completion");
  sqlite3_finalize (stmt);
  pb_store_read_end (self, db);
  if (rc != SQLITE_DONE)
    {
      GHashTableIter free_iter;
      g_hash_table_iter_init (&free_iter, table);
      while (g_hash_table_iter_next (&free_iter, NULL, &value))
        pb_address_suggestion_free (value);
      return NULL;
    }

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (results, value);
  g_ptr_array_sort (results, compare_suggestions);
  if (limit > 0 && results->len > limit)
    g_ptr_array_set_size (results, limit);

  return g_steal_pointer (&results);
}

typedef struct {
  char  *prefix;
  guint  limit;
} Query;

static void
query_free (Query *query)
{
  g_free (query->prefix);
  g_free (query);
}

static void
query_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  Query *query = task_data;
  GError *error = NULL;
  GPtrArray *results;

  if (g_task_return_error_if_cancelled (task))
    return;
  results = pb_store_query_addresses (source_object, query->prefix, query->limit, &error);
  if (results == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, results, (GDestroyNotify) g_ptr_array_unref);
}

/**
 * pb_store_query_addresses_async:
 *
 * Runs pb_store_query_addresses() off the calling thread. Cancel the previous query when the
 * user types on: its result is then dropped.
 */
void
pb_store_query_addresses_async (PbStore             *self,
                                const char          *prefix,
                                guint                limit,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Query *query;

  g_return_if_fail (PB_IS_STORE (self));
  g_return_if_fail (prefix != NULL);

  query = g_new0 (Query, 1);
  query->prefix = g_strdup (prefix);
  query->limit = limit;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pb_store_query_addresses_async);
  g_task_set_check_cancellable (task, TRUE);
  g_task_set_task_data (task, query, (GDestroyNotify) query_free);
  g_task_run_in_thread (task, query_thread);
}

/**
 * pb_store_query_addresses_finish:
 *
 * Returns: (transfer full) (element-type PbAddressSuggestion): see pb_store_query_addresses()
 */
GPtrArray *
pb_store_query_addresses_finish (PbStore       *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pb_store_query_addresses_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
