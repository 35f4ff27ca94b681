-- Cancellation (the Cancellation facet): the lock token an active job held when it was
-- cancelled ('*' when it had none), so that the holder's lock renewal learns it was cancelled
-- rather than lost. NULL for every job never cancelled while active.
ALTER TABLE jobs ADD COLUMN cancelled_lock TEXT;
