/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

/*
 * A small stand-in for libFuzzer's main() so every fuzz target also runs in ordinary gcc
 * builds: it replays each file of the seed corpus, then feeds the target pseudo-random
 * mutations of those files for a few seconds. The seed is fixed so a failure reproduces;
 * the failing input is written to the current directory before the target runs it.
 *
 * Usage: fuzz-target CORPUS-DIR-OR-FILE...
 * Environment: PB_FUZZ_SECONDS (default 2), PB_FUZZ_SEED (default 1), PB_FUZZ_MAX_LEN
 * (default 4096), PB_FUZZ_SAVE (write each mutated input to crash-input before running it).
 */

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

/* Fragments that matter to IMAP and modified UTF-7, spliced in by the mutator. */
static const char *const dictionary[] = {
  "\r\n", "\r", "\n", " ", "(", ")", "[", "]", "<0>", "\"", "\\", "{", "}", "{0}\r\n",
  "{5}\r\n", "{5+}\r\n", "~{3}\r\n", "{4294967296}\r\n", "{18446744073709551616}\r\n",
  "9223372036854775808", "4294967295", "NIL", "* ", "+ ", "A1 ", "OK ", "NO ", "BAD ", "BYE ",
  "PREAUTH ", "FETCH ", "BODY[HEADER.FIELDS (FROM)]", "BODY[]", "[ALERT]", "[UIDNEXT 5]",
  "\\Seen", "\\*", "&", "&-", "&AOQ-", "&2D3eAA-", "-", ",", "\0",
};

typedef struct {
  char   *name;
  GBytes *bytes;
} Seed;

static void
seed_free (gpointer data)
{
  Seed *seed = data;

  g_free (seed->name);
  g_bytes_unref (seed->bytes);
  g_free (seed);
}

static void
add_seed (GPtrArray  *seeds,
          const char *path)
{
  GError *error = NULL;
  char *contents = NULL;
  gsize len = 0;
  Seed *seed;

  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      exit (1);
    }
  seed = g_new0 (Seed, 1);
  seed->name = g_strdup (path);
  seed->bytes = g_bytes_new_take (contents, len);
  g_ptr_array_add (seeds, seed);
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

static void
collect (GPtrArray  *seeds,
         const char *path)
{
  GError *error = NULL;
  GDir *dir;
  const char *name;
  GPtrArray *names;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      add_seed (seeds, path);
      return;
    }

  dir = g_dir_open (path, 0, &error);
  if (dir == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      exit (1);
    }
  /* Sorted, so the mutation sequence does not depend on directory order. */
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_paths);
  for (guint i = 0; i < names->len; i++)
    {
      const char *file = *(const char **) &g_ptr_array_index (names, i);

      if (g_file_test (file, G_FILE_TEST_IS_REGULAR))
        add_seed (seeds, file);
    }
  g_ptr_array_unref (names);
}

static void
insert_bytes (GByteArray   *buf,
              guint         pos,
              const guint8 *bytes,
              guint         len)
{
  guint old_len = buf->len;

  g_byte_array_set_size (buf, old_len + len);
  memmove (buf->data + pos + len, buf->data + pos, old_len - pos);
  memcpy (buf->data + pos, bytes, len);
}

static void
mutate (GByteArray *buf,
        GRand      *rand,
        GPtrArray  *seeds,
        gsize       max_len)
{
  guint n = g_rand_int_range (rand, 1, 9);

  for (guint i = 0; i < n; i++)
    {
      guint pos = buf->len > 0 ? g_rand_int_range (rand, 0, buf->len) : 0;

      switch (g_rand_int_range (rand, 0, 8))
        {
        case 0: /* flip a bit */
          if (buf->len > 0)
            buf->data[pos] ^= 1u << g_rand_int_range (rand, 0, 8);
          break;
        case 1: /* random byte */
          if (buf->len > 0)
            buf->data[pos] = g_rand_int_range (rand, 0, 256);
          break;
        case 2: /* insert a random byte */
          {
            guint8 byte = g_rand_int_range (rand, 0, 256);

            insert_bytes (buf, pos, &byte, 1);
          }
          break;
        case 3: /* delete a range */
          if (buf->len > 0)
            g_byte_array_remove_range (buf, pos,
                                       g_rand_int_range (rand, 1, MIN (buf->len - pos, 16) + 1));
          break;
        case 4: /* duplicate a range */
          if (buf->len > 0)
            {
              guint len = g_rand_int_range (rand, 1, MIN (buf->len - pos, 64) + 1);
              guint8 *copy = g_memdup2 (buf->data + pos, len);

              insert_bytes (buf, g_rand_int_range (rand, 0, buf->len + 1), copy, len);
              g_free (copy);
            }
          break;
        case 5: /* splice in a piece of another seed */
          {
            Seed *other = g_ptr_array_index (seeds, g_rand_int_range (rand, 0, seeds->len));
            gsize other_len;
            const guint8 *other_data = g_bytes_get_data (other->bytes, &other_len);

            if (other_len > 0)
              {
                guint from = g_rand_int_range (rand, 0, other_len);
                guint len = g_rand_int_range (rand, 1, MIN (other_len - from, 256) + 1);

                insert_bytes (buf, pos, other_data + from, len);
              }
          }
          break;
        case 6: /* change the option and chunk-size header */
          if (buf->len >= 3)
            buf->data[g_rand_int_range (rand, 0, 3)] = g_rand_int_range (rand, 0, 256);
          break;
        default: /* insert a dictionary word */
          {
            const char *word = dictionary[g_rand_int_range (rand, 0, G_N_ELEMENTS (dictionary))];

            insert_bytes (buf, pos, (const guint8 *) word, MAX (strlen (word), 1));
          }
          break;
        }
    }

  if (buf->len > max_len)
    g_byte_array_set_size (buf, max_len);
}

static guint64
env_number (const char *name,
            guint64     fallback)
{
  const char *value = g_getenv (name);

  return value != NULL && *value != '\0' ? g_ascii_strtoull (value, NULL, 10) : fallback;
}

int
main (int   argc,
      char *argv[])
{
  GPtrArray *seeds = g_ptr_array_new_with_free_func (seed_free);
  guint64 seconds = env_number ("PB_FUZZ_SECONDS", 2);
  guint64 max_len = env_number ("PB_FUZZ_MAX_LEN", 4096);
  gboolean save = g_getenv ("PB_FUZZ_SAVE") != NULL;
  GRand *rand = g_rand_new_with_seed ((guint32) env_number ("PB_FUZZ_SEED", 1));
  GByteArray *buf = g_byte_array_new ();
  gint64 deadline;
  guint64 runs = 0;

  for (int i = 1; i < argc; i++)
    collect (seeds, argv[i]);
  if (seeds->len == 0)
    {
      fprintf (stderr, "usage: %s CORPUS-DIR-OR-FILE...\n", argv[0]);
      return 1;
    }

  for (guint i = 0; i < seeds->len; i++)
    {
      Seed *seed = g_ptr_array_index (seeds, i);
      gsize len;
      const guint8 *data = g_bytes_get_data (seed->bytes, &len);

      /* A private copy, so reads past the end are as visible as with libFuzzer. */
      guint8 *copy = g_memdup2 (data, len);

      printf ("# %s\n", seed->name);
      fflush (stdout);
      LLVMFuzzerTestOneInput (copy, len);
      g_free (copy);
    }

  deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      for (guint batch = 0; batch < 64; batch++)
        {
          Seed *seed = g_ptr_array_index (seeds, g_rand_int_range (rand, 0, seeds->len));
          gsize len;
          const guint8 *data = g_bytes_get_data (seed->bytes, &len);
          guint8 *copy;

          g_byte_array_set_size (buf, 0);
          g_byte_array_append (buf, data, len);
          mutate (buf, rand, seeds, max_len);

          if (save)
            g_file_set_contents ("crash-input", (const char *) buf->data, buf->len, NULL);
          copy = g_memdup2 (buf->data, buf->len);
          LLVMFuzzerTestOneInput (copy, buf->len);
          g_free (copy);
          runs++;
        }
    }

  printf ("# %u seeds replayed, %" G_GUINT64_FORMAT " mutated inputs in %" G_GUINT64_FORMAT
          " s, no failures\n", seeds->len, runs, seconds);

  g_byte_array_unref (buf);
  g_rand_free (rand);
  g_ptr_array_unref (seeds);
  return 0;
}
