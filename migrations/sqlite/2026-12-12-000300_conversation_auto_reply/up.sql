-- Off-hours replies (O-4): the opening instant that ends the closed spell a
-- conversation was last answered automatically in, so that a spell gets one reply.
ALTER TABLE conversations ADD COLUMN auto_replied_until TEXT;
