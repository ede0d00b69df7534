/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For `imap-sync --no-fsync` only: preloaded into both clients, it turns the calls that wait
 * for the disk into no-ops, so that a run shows what the clients cost without the disk's
 * flush latency (which varies several-fold on a shared machine). Never use it on real mail.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

int
fsync (int fd)
{
  (void) fd;
  return 0;
}

int
fdatasync (int fd)
{
  (void) fd;
  return 0;
}

int
syncfs (int fd)
{
  (void) fd;
  return 0;
}

int
sync_file_range (int fd, off_t offset, off_t nbytes, unsigned int flags)
{
  (void) fd;
  (void) offset;
  (void) nbytes;
  (void) flags;
  return 0;
}
