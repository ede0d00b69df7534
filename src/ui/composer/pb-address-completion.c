/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-composer"

#include "config.h"

#include <string.h>

#include "pb-address-completion.h"
#include "pb-store-addresses.h"

/* Completion waits for a pause in typing, then asks the store for this many addresses. */
#define COMPLETION_DELAY_MS 120
#define COMPLETION_LIMIT 8

struct _PbAddressCompletion
{
  PbStore            *store;
  GtkEntry           *entry;
  GtkEntryCompletion *completion;
  GtkListStore       *model;
  GCancellable       *cancellable;
  guint               timeout_id;
  gboolean            inserting;
};

static const char *
entry_text (GtkEntry *entry)
{
  return gtk_editable_get_text (GTK_EDITABLE (entry));
}

void
pb_address_completion_free (PbAddressCompletion *completion)
{
  if (completion == NULL)
    return;
  g_signal_handlers_disconnect_by_data (completion->entry, completion);
  g_signal_handlers_disconnect_by_data (completion->completion, completion);
  g_cancellable_cancel (completion->cancellable);
  g_clear_object (&completion->cancellable);
  g_clear_handle_id (&completion->timeout_id, g_source_remove);
  g_clear_object (&completion->model);
  g_clear_object (&completion->store);
  g_free (completion);
}

/* The address being typed: what follows the last comma. */
static char *
current_token (GtkEntry *entry)
{
  const char *text = entry_text (entry);
  const char *comma = strrchr (text, ',');
  const char *start = comma != NULL ? comma + 1 : text;

  while (*start == ' ')
    start++;
  return g_strdup (start);
}

static void
addresses_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  PbAddressCompletion *completion = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) suggestions = pb_store_query_addresses_finish (PB_STORE (source), result,
                                                                     &error);

  if (suggestions == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("Address completion failed: %s", error->message);
      return;
    }
  gtk_list_store_clear (completion->model);
  for (guint i = 0; i < suggestions->len; i++)
    {
      g_autofree char *text = pb_address_suggestion_format (g_ptr_array_index (suggestions, i));
      GtkTreeIter iter;

      gtk_list_store_append (completion->model, &iter);
      gtk_list_store_set (completion->model, &iter, 0, text, -1);
    }
  if (suggestions->len > 0)
    gtk_entry_completion_complete (completion->completion);
}

static gboolean
completion_timeout_cb (gpointer user_data)
{
  PbAddressCompletion *completion = user_data;
  g_autofree char *token = current_token (completion->entry);

  completion->timeout_id = 0;
  if (*token == '\0' || completion->store == NULL)
    {
      gtk_list_store_clear (completion->model);
      return G_SOURCE_REMOVE;
    }
  /* Only the newest query counts. */
  g_cancellable_cancel (completion->cancellable);
  g_clear_object (&completion->cancellable);
  completion->cancellable = g_cancellable_new ();
  pb_store_query_addresses_async (completion->store, token, COMPLETION_LIMIT,
                                  completion->cancellable, addresses_cb, completion);
  return G_SOURCE_REMOVE;
}

static void
completion_entry_changed_cb (GtkEditable *editable,
                             PbAddressCompletion *completion)
{
  if (completion->inserting)
    return;
  g_clear_handle_id (&completion->timeout_id, g_source_remove);
  completion->timeout_id = g_timeout_add (COMPLETION_DELAY_MS, completion_timeout_cb, completion);
}

static gboolean
completion_match_cb (GtkEntryCompletion *entry_completion,
                     const char         *key,
                     GtkTreeIter        *iter,
                     gpointer            user_data)
{
  /* The store already matched on the address and every word of the name. */
  return TRUE;
}

static gboolean
completion_selected_cb (GtkEntryCompletion *entry_completion,
                        GtkTreeModel       *model,
                        GtkTreeIter        *iter,
                        PbAddressCompletion *completion)
{
  g_autofree char *chosen = NULL;
  const char *text = entry_text (completion->entry);
  const char *comma = strrchr (text, ',');
  g_autofree char *head = comma != NULL ? g_strndup (text, comma - text + 1) : g_strdup ("");
  g_autofree char *result = NULL;

  gtk_tree_model_get (model, iter, 0, &chosen, -1);
  result = g_strdup_printf ("%s%s%s, ", head, *head != '\0' ? " " : "", chosen);
  completion->inserting = TRUE;
  gtk_editable_set_text (GTK_EDITABLE (completion->entry), result);
  gtk_editable_set_position (GTK_EDITABLE (completion->entry), -1);
  completion->inserting = FALSE;
  gtk_list_store_clear (completion->model);
  return TRUE;
}

/**
 * pb_address_completion_new:
 * @entry: a recipient field (a comma-separated list of addresses)
 * @store: (nullable): the store to ask; %NULL offers nothing
 *
 * Returns: (transfer full): the completion, attached to @entry; free it before the entry goes
 */
PbAddressCompletion *
pb_address_completion_new (GtkEntry *entry,
                           PbStore  *store)
{
  PbAddressCompletion *completion = g_new0 (PbAddressCompletion, 1);

  completion->store = store != NULL ? g_object_ref (store) : NULL;
  completion->entry = entry;
  completion->model = gtk_list_store_new (1, G_TYPE_STRING);
  completion->completion = gtk_entry_completion_new ();
  gtk_entry_completion_set_model (completion->completion, GTK_TREE_MODEL (completion->model));
  gtk_entry_completion_set_text_column (completion->completion, 0);
  gtk_entry_completion_set_match_func (completion->completion, completion_match_cb, NULL, NULL);
  gtk_entry_completion_set_popup_single_match (completion->completion, TRUE);
  gtk_entry_completion_set_inline_completion (completion->completion, FALSE);
  g_signal_connect (completion->completion, "match-selected",
                    G_CALLBACK (completion_selected_cb), completion);
  gtk_entry_set_completion (entry, completion->completion);
  g_object_unref (completion->completion);
  g_signal_connect (entry, "changed", G_CALLBACK (completion_entry_changed_cb), completion);
  return completion;
}
