-- The changes the end-to-end suite makes in PostgreSQL, as the shop's application would: a
-- catalogue, then sessions running concurrently, each a loop of short transactions (orders with
-- their items, status changes, quantity changes, deletes of items and of whole orders, restocks,
-- price changes, NULLs written over values, new products, recalls). Every transaction commits on
-- its own; the final state is what the services' results are compared with.

-- A catalogue of `n` products named in several scripts, with emoji, tagged with `tag` (so that a
-- run's products can be searched for); the first two cost 0.29 and 99999999.99.
CREATE OR REPLACE PROCEDURE e2e_catalogue(n int, tag text) LANGUAGE plpgsql AS $$
DECLARE
  names text[] := ARRAY['Kopfhörer Über-Ohr 🎧', '无线耳机 蓝牙', 'Наушники беспроводные', 'سماعات لاسلكية',
                        'Ψηφιακή κάμερα 📷', 'Lámpara de escritorio 💡', 'Wireless Mouse', 'Mechanical Keyboard ⌨️',
                        'Steel Desk Lamp', 'Ceramic Coffee Mug ☕'];
BEGIN
  FOR i IN 1..n LOOP
    INSERT INTO products (name, description, price, stock_quantity)
    VALUES (names[1 + i % array_length(names, 1)] || ' ' || tag || ' ' || i,
            CASE WHEN i % 7 = 0 THEN NULL ELSE 'zorblax gadget number ' || i END,
            CASE i WHEN 1 THEN 0.29 WHEN 2 THEN 99999999.99 ELSE round((1 + random() * 300)::numeric, 2) END,
            40 + (i * 37) % 300);
  END LOOP;
END $$;

-- A live product chosen at random (NULL when there is none).
CREATE OR REPLACE FUNCTION e2e_any_product() RETURNS int LANGUAGE sql AS $$
  SELECT id FROM products ORDER BY random() LIMIT 1
$$;

-- One session: `steps` transactions on the orders of its own customers (customer_id ≡ session
-- modulo `sessions`, so sessions never wait on each other's orders), and on shared products.
CREATE OR REPLACE PROCEDURE e2e_session(session int, sessions int, steps int) LANGUAGE plpgsql AS $$
DECLARE
  statuses text[] := ARRAY['processing', 'paid', 'shipped', 'delivered', 'completed', 'cancelled'];
  r float8;
  o int;
  p int;
  item int;
  lines int;
  total numeric;
BEGIN
  FOR step IN 1..steps LOOP
    r := random();
    BEGIN
      IF r < 0.40 THEN
        -- A new order with one to three items, its total the sum of its lines.
        INSERT INTO orders (customer_id, total_amount, status)
        VALUES (session + sessions * (1 + floor(random() * 60)::int), 0, 'pending') RETURNING id INTO o;
        lines := 1 + floor(random() * 3)::int;
        FOR l IN 1..lines LOOP
          p := e2e_any_product();
          INSERT INTO order_items (order_id, product_id, quantity, price)
          SELECT o, id, 1 + floor(random() * 4)::int, price FROM products WHERE id = p;
        END LOOP;
        SELECT coalesce(sum(quantity * price), 0) INTO total FROM order_items WHERE order_id = o;
        UPDATE orders SET total_amount = least(total, 99999999.99), updated_at = now() WHERE id = o;
      ELSIF r < 0.55 THEN
        UPDATE orders SET status = statuses[1 + floor(random() * array_length(statuses, 1))::int], updated_at = now()
        WHERE id = (SELECT id FROM orders WHERE customer_id % sessions = session ORDER BY random() LIMIT 1);
      ELSIF r < 0.65 THEN
        UPDATE order_items SET quantity = 1 + floor(random() * 6)::int
        WHERE id = (SELECT oi.id FROM order_items oi JOIN orders od ON od.id = oi.order_id
                    WHERE od.customer_id % sessions = session ORDER BY random() LIMIT 1);
      ELSIF r < 0.70 THEN
        DELETE FROM order_items
        WHERE id = (SELECT oi.id FROM order_items oi JOIN orders od ON od.id = oi.order_id
                    WHERE od.customer_id % sessions = session ORDER BY random() LIMIT 1);
      ELSIF r < 0.75 THEN
        -- An order deleted with its items (the foreign key wants the items first).
        SELECT id INTO o FROM orders WHERE customer_id % sessions = session ORDER BY random() LIMIT 1;
        DELETE FROM order_items WHERE order_id = o;
        DELETE FROM orders WHERE id = o;
      ELSIF r < 0.85 THEN
        UPDATE products SET stock_quantity = stock_quantity + 25 + floor(random() * 50)::int, updated_at = now()
        WHERE id = e2e_any_product();
      ELSIF r < 0.90 THEN
        UPDATE products SET price = round((0.5 + random() * 400)::numeric, 2), updated_at = now() WHERE id = e2e_any_product();
      ELSIF r < 0.94 THEN
        UPDATE products SET description = NULL, updated_at = now() WHERE id = e2e_any_product();
      ELSIF r < 0.98 THEN
        INSERT INTO products (name, description, price, stock_quantity)
        VALUES ('Wireless Charger ' || session || '-' || step, 'zorblax pad', round((5 + random() * 60)::numeric, 2), 80);
      ELSE
        -- A recall: every item of the product, then the product.
        p := e2e_any_product();
        DELETE FROM order_items WHERE product_id = p;
        DELETE FROM products WHERE id = p;
      END IF;
    EXCEPTION WHEN foreign_key_violation OR deadlock_detected OR lock_not_available THEN
      -- Another session recalled the product this transaction was using: skip the step.
      NULL;
    END;
    COMMIT;
  END LOOP;
END $$;
