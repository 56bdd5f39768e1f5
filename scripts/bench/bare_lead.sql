-- The row POST /leads stores for a new lead, inserted bare: no checks, no assignment
-- rule, no scoring, no assignment record, no audit event, no notification. The owner is
-- one of the round-robin team's members (bench_members, numbered from 0).
\set n random(1, 1000000000)
\set m random(0, :members - 1)
INSERT INTO leads (id, first_name, last_name, company, job_title, phones, emails, province, city, source, campaign,
                   status, disqualified_reason, owner_id, team_id, description, display_name, search_text,
                   converted_customer_id, converted_organization_id, converted_at, created_by, created_at,
                   updated_at, version, language, product_id, score_points, propensity, propensity_factors,
                   propensity_run_id, custom_fields)
SELECT gen_random_uuid(), 'سارا', 'احمدی', 'شرکت پارس سامانه', NULL,
       jsonb_build_array(jsonb_build_object('number', '+98936' || lpad((:n % 10000000)::text, 7, '0'),
                                            'type', 'mobile', 'label', NULL, 'primary', true)),
       jsonb_build_array(jsonb_build_object('address', 'bench.' || :n || '@example.ir', 'label', NULL, 'primary', true)),
       'اصفهان', 'کاشان', 'website', NULL, 'new', NULL, owner_id, team_id, NULL, 'سارا احمدی',
       'سارااحمدی شرکتپارسسامانه کاشان اصفهان 98936' || lpad((:n % 10000000)::text, 7, '0') || ' 0936'
           || lpad((:n % 10000000)::text, 7, '0') || ' bench' || :n || 'exampleir',
       NULL, NULL, NULL, created_by, now(), now(), 1, NULL, NULL, 0, NULL, NULL, NULL, '{}'
FROM bench_members WHERE n = :m;
