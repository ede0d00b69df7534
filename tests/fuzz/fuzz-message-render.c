/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <gmime/gmime.h>

#include "pb-message-render.h"

/*
 * Fuzz target for the message rendering model (GMime plus our charset fallback, format=flowed,
 * file-name sanitising and remote-content scan). The input is a raw message. Beyond "does not
 * crash", it checks that every string that comes out is valid UTF-8, that file names are safe
 * (no separators, no control characters, no leading dot, within the length cap), that the
 * bounds on parts hold, and that lookups by index and by Content-ID find the parts they list.
 */

static void check_render (PbMessageRender *render, guint depth);

static void
check_utf8 (const char *s)
{
  if (s != NULL && !g_utf8_validate (s, -1, NULL))
    g_error ("invalid UTF-8 out of the renderer");
}

static void
check_addresses (GPtrArray *addresses)
{
  for (guint i = 0; i < addresses->len; i++)
    {
      const PbRenderAddress *address = g_ptr_array_index (addresses, i);

      check_utf8 (address->name);
      g_assert (address->address != NULL);
      check_utf8 (address->address);
    }
}

static void
check_part (PbMessageRender    *render,
            const PbRenderPart *part,
            guint               depth)
{
  g_assert (part != NULL);
  switch (part->kind)
    {
    case PB_RENDER_PART_ALTERNATIVE:
      g_assert (part->alt_text != NULL || part->alt_html != NULL);
      if (part->alt_text != NULL)
        check_part (render, part->alt_text, depth);
      if (part->alt_html != NULL)
        check_part (render, part->alt_html, depth);
      return;
    case PB_RENDER_PART_TEXT:
      for (guint i = 0; i < part->lines->len; i++)
        check_utf8 (((PbRenderLine *) g_ptr_array_index (part->lines, i))->text);
      break;
    case PB_RENDER_PART_HTML:
      check_utf8 (part->html);
      break;
    case PB_RENDER_PART_MESSAGE:
      g_assert (depth < PB_MESSAGE_RENDER_MAX_DEPTH + 2);
      check_render (part->message, depth + 1);
      break;
    case PB_RENDER_PART_ATTACHMENT:
      break;
    default:
      g_assert_not_reached ();
    }

  g_assert (pb_message_render_get_part (render, part->index) == part);
  g_assert (part->bytes != NULL && g_bytes_get_size (part->bytes) == part->size);
  check_utf8 (part->content_type);
  check_utf8 (part->filename);
  g_assert (part->filename[0] != '\0' && part->filename[0] != '.');
  g_assert (strlen (part->filename) <= PB_MESSAGE_RENDER_MAX_FILENAME);
  for (const char *p = part->filename; *p; p++)
    g_assert (*p != '/' && *p != '\\' && (guchar) *p >= 0x20 && *p != 0x7f);
  if (part->content_id != NULL)
    {
      check_utf8 (part->content_id);
      g_assert (pb_message_render_lookup_content_id (render, part->content_id) != NULL);
    }
}

static void
check_render (PbMessageRender *render,
              guint            depth)
{
  GPtrArray *parts = pb_message_render_get_parts (render);

  check_utf8 (pb_message_render_get_subject (render));
  if (pb_message_render_get_from (render) != NULL)
    check_utf8 (pb_message_render_get_from (render)->address);
  check_addresses (pb_message_render_get_to (render));
  check_addresses (pb_message_render_get_cc (render));
  check_addresses (pb_message_render_get_reply_to (render));
  g_assert (pb_message_render_get_n_parts (render) <= PB_MESSAGE_RENDER_MAX_PARTS);
  for (guint i = 0; i < parts->len; i++)
    check_part (render, g_ptr_array_index (parts, i), depth);
}

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static gboolean initialised;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  PbMessageRender *render;

  if (!initialised)
    {
      g_mime_init ();
      initialised = TRUE;
    }

  raw = g_bytes_new (data, size);
  render = pb_message_render_new (raw, &error);
  if (render == NULL)
    g_assert (error != NULL);
  else
    {
      check_render (render, 0);
      g_object_unref (render);
    }

  /* The helpers on their own, straight on the bytes. */
  text = pb_message_render_decode_text ((const char *) data, size, size > 0 && data[0] & 1
                                                                   ? "iso-2022-jp" : "utf-8");
  check_utf8 (text);
  pb_message_render_html_has_remote_content (text);
  {
    g_autofree char *name = pb_message_render_sanitize_filename (text, NULL);

    check_utf8 (name);
    g_assert (strlen (name) <= PB_MESSAGE_RENDER_MAX_FILENAME && name[0] != '.');
  }
  return 0;
}
