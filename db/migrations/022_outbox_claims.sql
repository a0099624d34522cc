-- Claims on the outbox (issue 18, stage 2): one delivery worker at a time sends to an address, in
-- order, across instances. A claim lasts until `expires_at` (ISO 8601, UTC); its holder renews it
-- while it sends and deletes it when the address has nothing due; a claim whose holder died is
-- taken over once it has expired (db/outbox.py, `claim`).
CREATE TABLE outbox_claims (
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (channel, address)
);
CREATE INDEX outbox_claims_holder ON outbox_claims(holder);
