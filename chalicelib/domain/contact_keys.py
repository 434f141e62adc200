"""How the table keeps voters' contacts apart (domain/contacts.py): by shard, and the mark of an erased number. Apart,
so that counting broadcasts (every minute) needs no contact records."""

ERASED = "erased"  # a suppression reason no START lifts
SHARDS = "0123456789abcdef"  # a constituency's contacts spread over 16 partitions by their digest's first digit
