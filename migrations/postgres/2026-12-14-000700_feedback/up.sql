-- Feedback in one place (F-1): survey answers, reviews, ticket satisfaction answers
-- and texts marked as feedback (a message, a ticket message, a note), one row each,
-- with the customer, what it concerns (product, agent, team, channel, ticket) and the
-- sentiment of its text, scored once when it is written so that reports are sums.
CREATE TABLE feedback (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    source text NOT NULL,
    metric text,
    score integer,
    body text,
    sentiment_score double precision,
    sentiment_label text,
    sentiment_confidence double precision,
    product_id uuid,
    agent_id uuid,
    team_id uuid,
    channel text,
    ticket_id uuid,
    message_id uuid,
    note_id uuid,
    ticket_message_id uuid,
    ticket_survey_id uuid,
    survey_id uuid,
    invitation_id uuid,
    question_key text,
    negative boolean NOT NULL,
    follow_up text,
    task_id uuid,
    created_by uuid,
    created_at timestamptz NOT NULL,
    CHECK ((metric IS NULL) = (score IS NULL))
);
-- The listing and the customer's feedback, newest first.
CREATE INDEX feedback_created_idx ON feedback (created_at, id);
CREATE INDEX feedback_customer_idx ON feedback (customer_id, created_at, id);
-- The reports read one metric over a period.
CREATE INDEX feedback_metric_idx ON feedback (metric, created_at);
-- A text is marked as feedback once; a question of an invitation answered once.
CREATE UNIQUE INDEX feedback_message_key ON feedback (message_id);
CREATE UNIQUE INDEX feedback_note_key ON feedback (note_id);
CREATE UNIQUE INDEX feedback_ticket_message_key ON feedback (ticket_message_id);
CREATE UNIQUE INDEX feedback_ticket_survey_key ON feedback (ticket_survey_id);
CREATE UNIQUE INDEX feedback_answer_key ON feedback (invitation_id, question_key);

-- Survey definitions (F-1, F-3): named lists of questions in Persian and English.
CREATE TABLE feedback_surveys (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    questions jsonb NOT NULL,
    active boolean NOT NULL,
    valid_days integer NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX feedback_surveys_name_key ON feedback_surveys (name);
CREATE INDEX feedback_surveys_created_idx ON feedback_surveys (created_at, id);

-- One survey sent to one customer: a token link (only its SHA-256 is kept), answered
-- once before it expires; `delivery` is `link` or the channel kind it was sent by.
CREATE TABLE survey_invitations (
    id uuid PRIMARY KEY,
    survey_id uuid NOT NULL REFERENCES feedback_surveys (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    token_hash text NOT NULL,
    delivery text NOT NULL,
    message_id uuid,
    product_id uuid,
    agent_id uuid,
    ticket_id uuid,
    created_by uuid,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    answered_at timestamptz
);
CREATE UNIQUE INDEX survey_invitations_token_key ON survey_invitations (token_hash);
-- The throttle asks for a customer's latest invitation.
CREATE INDEX survey_invitations_customer_idx ON survey_invitations (customer_id, created_at);
CREATE INDEX survey_invitations_survey_idx ON survey_invitations (survey_id, created_at, id);

-- SERVQUAL answers (F-3): per item of an invitation the desired, adequate (minimum
-- acceptable) and perceived levels on the 1–9 scale.
CREATE TABLE servqual_answers (
    id uuid PRIMARY KEY,
    invitation_id uuid NOT NULL REFERENCES survey_invitations (id) ON DELETE CASCADE,
    survey_id uuid NOT NULL,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    item_key text NOT NULL,
    dimension text NOT NULL,
    desired integer NOT NULL,
    adequate integer NOT NULL,
    perceived integer NOT NULL,
    answered_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX servqual_answers_item_key ON servqual_answers (invitation_id, item_key);
CREATE INDEX servqual_answers_answered_idx ON servqual_answers (answered_at);
CREATE INDEX servqual_answers_customer_idx ON servqual_answers (customer_id);

-- How much each expectation factor shaped a respondent's expectations (1–7).
CREATE TABLE expectation_factor_ratings (
    id uuid PRIMARY KEY,
    invitation_id uuid NOT NULL REFERENCES survey_invitations (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    factor text NOT NULL,
    rating integer NOT NULL,
    answered_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX expectation_factor_ratings_key ON expectation_factor_ratings (invitation_id, factor);
CREATE INDEX expectation_factor_ratings_customer_idx ON expectation_factor_ratings (customer_id);

-- What counts as negative feedback and what it does; defaults while absent.
ALTER TABLE business_settings ADD COLUMN feedback jsonb;

-- Ticket satisfaction answers given before feedback was gathered in one place.
INSERT INTO feedback (id, customer_id, source, metric, score, body, agent_id, team_id,
                      channel, ticket_id, ticket_survey_id, negative, follow_up, created_at)
SELECT s.id, t.customer_id, 'ticket_survey', 'csat', s.rating, s.comment, s.agent_id,
       s.team_id, s.channel, s.ticket_id, s.id, s.rating <= 2, s.follow_up, s.answered_at
FROM ticket_surveys s JOIN tickets t ON t.id = s.ticket_id
WHERE s.answered_at IS NOT NULL AND s.rating IS NOT NULL;
