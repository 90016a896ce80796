#!/bin/sh
# A consistent copy of the bot's database while the bot runs (SQLite's online backup: no stop, no torn copy),
# then a check of the copy. Run it from cron or a systemd timer as the bot's user, e.g. every night:
#   deploy/backup.sh /var/lib/dkim-bot/dkim-bot.sqlite /var/backups/dkim-bot
# Needs the sqlite3 command (Debian: apt install sqlite3). The copy holds who asked for what and orders' details
# until they are sent: it is written readable by its owner only, like the database.
set -eu
database=${1:?usage: backup.sh DATABASE_PATH BACKUP_FOLDER [DAYS_KEPT=30]}
folder=${2:?usage: backup.sh DATABASE_PATH BACKUP_FOLDER [DAYS_KEPT=30]}
days=${3:-30}
umask 077
mkdir -p "$folder"
copy="$folder/dkim-bot-$(date -u +%Y%m%dT%H%M%SZ).sqlite"
sqlite3 "$database" ".timeout 10000" ".backup '$copy'"
test "$(sqlite3 "$copy" 'PRAGMA integrity_check;')" = ok
find "$folder" -name 'dkim-bot-*.sqlite' -mtime +"$days" -delete
echo "$copy"
