/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "pb-message-builder.h"

/*
 * Fuzz target for format=flowed (RFC 3676): pb_message_builder_unflow() reads text/plain
 * parts of any message that is replied to or forwarded; pb_message_builder_flow() writes
 * what the user typed.
 *
 * Byte 0 selects the mode: 'F' unflows the rest (DelSp=no), 'D' with DelSp=yes, anything else
 * flows the rest. Properties: no crash; valid UTF-8 in gives valid UTF-8 out; flowing is
 * stable (unflow (flow (x)) flows to the same text again); a flowed line longer than 78
 * characters is one word that could not be broken; no flowed line at depth 0 starts with
 * "From " (it would be mangled by mbox).
 */

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = NULL;
  char mode;

  if (size == 0)
    return 0;
  mode = (char) data[0];
  text = g_strndup ((const char *) data + 1, size - 1);
  if (!g_utf8_validate (text, -1, NULL))
    return 0;

  if (mode == 'F' || mode == 'D')
    {
      g_autofree char *plain = pb_message_builder_unflow (text, mode == 'D');
      g_assert_true (g_utf8_validate (plain, -1, NULL));
      return 0;
    }

  {
    g_autofree char *flowed = pb_message_builder_flow (text);
    g_autofree char *back = pb_message_builder_unflow (flowed, FALSE);
    g_autofree char *again = pb_message_builder_flow (back);
    g_auto(GStrv) lines = g_strsplit (flowed, "\n", -1);

    g_assert_true (g_utf8_validate (flowed, -1, NULL));
    g_assert_cmpstr (flowed, ==, again);
    for (guint i = 0; lines[i] != NULL; i++)
      {
        const char *line = lines[i];

        g_assert_false (g_str_has_prefix (line, "From "));
        if (g_utf8_strlen (line, -1) > 78)
          {
            /* Only a single long word (after the quote marks and stuffing) is left whole. */
            const char *p = line;
            const char *space;

            while (*p == '>')
              p++;
            if (*p == ' ')
              p++;
            space = strchr (p, ' ');
            /* Deep quotes leave a minimum of 20 characters for the text itself. */
            if (g_str_has_prefix (p, "-- ") || g_utf8_strlen (p, -1) <= 78)
              continue;
            if (!(space == NULL || g_utf8_strlen (p, space - p) > 40 || space[1] == '\0'
                  || space[1] == ' '))
              g_error ("Line of %ld characters not broken: “%s”", g_utf8_strlen (line, -1),
                       line);
          }
      }
  }
  return 0;
}
