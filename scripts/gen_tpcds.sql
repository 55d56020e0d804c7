-- gen_tpcds.sql — pg2md's own TPC-DS-shaped data generator (run through scripts/gen_tpcds.sh).
--
-- Creates schema my_pg with the 24 tables of the guide's config, with TPC-DS column names,
-- types and primary keys, and fills them with deterministic data: every value is derived from
-- the row number by integer hashing (no random()), so the same SCALE always gives the same
-- rows.  This is written from scratch with generate_series; it shares no code with dsdgen.
--
-- The file is split into parts that gen_tpcds.sh runs as separate psql sessions (several at
-- once).  A part is selected by defining the psql variable part_<name>, e.g.
--   psql -v part_schema=1 -f gen_tpcds.sql
-- Parts: schema (drop/create everything, helper functions), dims, customer, cdemo,
-- inventory (with inv_from / inv_to week range), store, catalog, web,
-- finish_<table> (primary key, VACUUM FREEZE ANALYZE), cleanup (drop helpers).
-- Row counts arrive as psql variables (n_cust, n_addr, n_cdemo, n_item, n_inv_item, n_ss,
-- n_cs, n_ws, l_ss, l_cs, l_ws); gen_tpcds.sh computes them from SCALE.
\set ON_ERROR_STOP on
\set QUIET on
SET client_min_messages = warning;
SET synchronous_commit = off;
SET work_mem = '256MB';

---------------------------------------------------------------------------------------------
\if :{?part_schema}
DROP SCHEMA IF EXISTS my_pg CASCADE;
DROP SCHEMA IF EXISTS pg2md_gen CASCADE;
CREATE SCHEMA my_pg;
CREATE SCHEMA pg2md_gen;

-- h(i, s): a 32-bit hash of row number i for stream s (two xorshift-multiply rounds).  Written
-- out flat so the planner inlines it (a nested SQL function call would not be inlined).
CREATE FUNCTION pg2md_gen.h(i bigint, s int) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
-- a = ((i * 40503) # (s * 2654435769 + 1)) mod 2^32;  b = ((a # a>>16) * 73244475) mod 2^32;
-- result = ((b # b>>16) * 73244475) mod 2^32
SELECT (((((((((i * 40503) # (s * 2654435769::bigint + 1)) % 4294967296) # ((((i * 40503) # (s * 2654435769::bigint + 1)) % 4294967296) >> 16)) * 73244475) % 4294967296) # (((((((i * 40503) # (s * 2654435769::bigint + 1)) % 4294967296) # ((((i * 40503) # (s * 2654435769::bigint + 1)) % 4294967296) >> 16)) * 73244475) % 4294967296) >> 16)) * 73244475) % 4294967296)
$f$;

-- id16(n): a 16-character business id in the TPC-DS style ('BAAAAAAAAAAAAAAA' for 1).
CREATE FUNCTION pg2md_gen.id16(n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
SELECT reverse(translate(lpad(to_hex(n), 16, '0'), '0123456789abcdef', 'ABCDEFGHIJKLMNOP'))
$f$;

-- syl(n): a made-up name spelled from the decimal digits of n, one syllable per digit.
CREATE FUNCTION pg2md_gen.syl(n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
SELECT string_agg((ARRAY['bar','ought','able','pri','ese','anti','cally','ation','eing','n st'])
                  [substr(n::text, p, 1)::int + 1], '' ORDER BY p)
FROM generate_series(1, length(n::text)) p
$f$;

-- words(seed, n, maxlen): n words of filler text chosen by hash, cut to maxlen characters.
CREATE FUNCTION pg2md_gen.words(seed bigint, n int, maxlen int) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
SELECT rtrim(left(string_agg(w[1 + pg2md_gen.h(seed, k) % cardinality(w)], ' ' ORDER BY k), maxlen))
FROM generate_series(1, n) k,
     (SELECT ARRAY['able','about','above','across','active','actual','additional','afraid',
       'again','always','ancient','annual','apparent','automatic','basic','beautiful','best',
       'better','big','black','blue','brief','bright','broad','busy','careful','central',
       'certain','cheap','civil','clean','clear','close','cold','common','complete','correct',
       'current','dark','deep','different','direct','early','easy','economic','effective',
       'electric','empty','equal','even','exact','extra','fair','fast','final','fine','firm',
       'fresh','full','general','glad','good','great','green','happy','hard','heavy','high',
       'home','huge','important','inner','items','kind','large','late','light','little','local',
       'long','low','main','major','modern','natural','new','nice','normal','old','only','open',
       'other','plain','popular','present','private','public','quick','quiet','rapid','ready',
       'real','red','regular','rich','right','round','safe','same','short','simple','single',
       'small','soft','special','strong','sure','tall','tiny','total','true','usual','warm',
       'white','whole','wide','wild','young','products','quality','service','value','design',
       'material','pieces','colour','style','market','season','family','children','results',
       'plans','levels','areas','systems','years','minutes','hours','weeks','members',
       'customers','prices','sizes','models','brands','stores','orders','pages','goods']::text[] AS w) ws
$f$;

-- Constant lists (immutable, no arguments: folded to constants at plan time).
CREATE FUNCTION pg2md_gen.first_names() RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
SELECT ARRAY['James','Mary','John','Patricia','Robert','Jennifer','Michael','Linda','William',
 'Elizabeth','David','Barbara','Richard','Susan','Joseph','Jessica','Thomas','Sarah','Charles',
 'Karen','Christopher','Nancy','Daniel','Lisa','Matthew','Betty','Anthony','Margaret','Mark',
 'Sandra','Donald','Ashley','Steven','Kimberly','Paul','Emily','Andrew','Donna','Joshua',
 'Michelle','Kenneth','Dorothy','Kevin','Carol','Brian','Amanda','George','Melissa','Edward',
 'Deborah','Ronald','Stephanie','Timothy','Rebecca','Jason','Laura','Jeffrey','Helen','Ryan',
 'Sharon','Jacob','Cynthia','Gary','Kathleen','Nicholas','Amy','Eric','Shirley','Jonathan',
 'Angela','Stephen','Anna','Larry','Ruth','Justin','Brenda','Scott','Pamela','Brandon','Nicole']::text[]
$f$;
CREATE FUNCTION pg2md_gen.last_names() RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
SELECT ARRAY['Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis','Rodriguez',
 'Martinez','Hernandez','Lopez','Gonzalez','Wilson','Anderson','Thomas','Taylor','Moore',
 'Jackson','Martin','Lee','Perez','Thompson','White','Harris','Sanchez','Clark','Ramirez',
 'Lewis','Robinson','Walker','Young','Allen','King','Wright','Scott','Torres','Nguyen','Hill',
 'Flores','Green','Adams','Nelson','Baker','Hall','Rivera','Campbell','Mitchell','Carter',
 'Roberts','Gomez','Phillips','Evans','Turner','Diaz','Parker','Cruz','Edwards','Collins',
 'Reyes','Stewart','Morris','Morales','Murphy','Cook','Rogers','Gutierrez','Ortiz','Morgan',
 'Cooper','Peterson','Bailey','Reed','Kelly','Howard','Ramos','Kim','Cox','Ward','Richardson']::text[]
$f$;
CREATE FUNCTION pg2md_gen.street_names() RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
SELECT ARRAY['Main','Oak','Pine','Maple','Cedar','Elm','View','Lake','Hill','Park','Washington',
 'Sunset','Railroad','Church','Willow','Mill','Walnut','Jackson','Spring','North','South',
 'Ridge','River','Forest','Meadow','Dogwood','Chestnut','Hickory','Lincoln','Jefferson',
 'Second','Third','Fourth','Fifth','Sixth','Seventh','Eighth','Ninth','Tenth','Highland',
 'Green','Johnson','Adams','Madison','Smith','Wilson','Poplar','Birch','Laurel','Sycamore']::text[]
$f$;
CREATE FUNCTION pg2md_gen.street_types() RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
SELECT ARRAY['Street','ST','Avenue','Ave','Boulevard','Blvd','Road','RD','Lane','Ln','Way','Wy',
 'Court','Ct.','Drive','Dr.','Circle','Cir.','Parkway','Pkwy']::text[]
$f$;
CREATE FUNCTION pg2md_gen.cities() RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
SELECT ARRAY['Midway','Fairview','Oak Grove','Five Points','Riverside','Pleasant Hill',
 'Centerville','Mount Pleasant','Georgetown','Salem','Greenwood','Franklin','Clinton',
 'Springfield','Union','Oakland','Bethel','Shiloh','Liberty','Jamestown','Marion','Antioch',
 'Glendale','Lakeside','Newport','Kingston','Ashland','Greenville','Hopewell','Sulphur Springs',
 'Woodland','Lebanon','Concord','Harmony','Enterprise','Summit','Highland Park','Edgewood',
 'Walnut Grove','Red Hill']::text[]
$f$;
CREATE FUNCTION pg2md_gen.counties() RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
SELECT ARRAY['Williamson County','Walker County','Ziebach County','Franklin Parish',
 'Jackson County','Bronx County','Fairfield County','Huron County','Richland County',
 'Barrow County','Lunenburg County','Daviess County','Luce County','Orange County',
 'Dona Ana County','Mobile County','Raleigh County','Maverick County','Oglethorpe County',
 'Wadena County','Marshall County','Perry County','Union County','Montgomery County',
 'Madison County','Greene County','Warren County','Clay County','Lincoln County','Wayne County']::text[]
$f$;
CREATE FUNCTION pg2md_gen.states() RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
SELECT ARRAY['AL','AK','AZ','AR','CA','CO','CT','DE','FL','GA','HI','ID','IL','IN','IA','KS',
 'KY','LA','ME','MD','MA','MI','MN','MS','MO','MT','NE','NV','NH','NJ','NM','NY','NC','ND',
 'OH','OK','OR','PA','RI','SC','SD','TN','TX','UT','VT','VA','WA','WV','WI','WY']::text[]
$f$;
CREATE FUNCTION pg2md_gen.countries() RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
SELECT ARRAY['UNITED STATES','CANADA','MEXICO','BRAZIL','ARGENTINA','CHILE','PERU','GERMANY',
 'FRANCE','ITALY','SPAIN','PORTUGAL','NETHERLANDS','BELGIUM','SWEDEN','NORWAY','FINLAND',
 'POLAND','GREECE','TURKEY','EGYPT','KENYA','NIGERIA','SOUTH AFRICA','INDIA','CHINA','JAPAN',
 'KOREA, REPUBLIC OF','VIET NAM','THAILAND','INDONESIA','PHILIPPINES','AUSTRALIA','NEW ZEALAND',
 'IRELAND','ICELAND','UNITED KINGDOM','SWITZERLAND','AUSTRIA','DENMARK']::text[]
$f$;
CREATE FUNCTION pg2md_gen.colors() RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
SELECT ARRAY['almond','antique','aquamarine','azure','beige','bisque','black','blanched','blue',
 'blush','brown','burlywood','burnished','chartreuse','chiffon','chocolate','coral','cornflower',
 'cornsilk','cream','cyan','dark','deep','dim','dodger','drab','firebrick','floral','forest',
 'frosted','gainsboro','ghost','goldenrod','green','grey','honeydew','hot','indian','ivory',
 'khaki','lace','lavender','lawn','lemon','light','lime','linen','magenta','maroon','medium',
 'metallic','midnight','mint','misty','moccasin','navajo','navy','olive','orange','orchid',
 'pale','papaya','peach','peru','pink','plum','powder','puff','purple','red','rose','rosy',
 'royal','saddle','salmon','sandy','seashell','sienna','sky','slate','smoke','snow','spring',
 'steel','tan','thistle','tomato','turquoise','violet','wheat','white','yellow']::text[]
$f$;

CREATE TABLE my_pg.customer_address (
    ca_address_sk             integer       NOT NULL,
    ca_address_id             char(16)      NOT NULL,
    ca_street_number          char(10),
    ca_street_name            varchar(60),
    ca_street_type            char(15),
    ca_suite_number           char(10),
    ca_city                   varchar(60),
    ca_county                 varchar(30),
    ca_state                  char(2),
    ca_zip                    char(10),
    ca_country                varchar(20),
    ca_gmt_offset             decimal(5,2),
    ca_location_type          char(20)
);
CREATE TABLE my_pg.customer_demographics (
    cd_demo_sk                integer       NOT NULL,
    cd_gender                 char(1),
    cd_marital_status         char(1),
    cd_education_status       char(20),
    cd_purchase_estimate      integer,
    cd_credit_rating          char(10),
    cd_dep_count              integer,
    cd_dep_employed_count     integer,
    cd_dep_college_count      integer
);
CREATE TABLE my_pg.date_dim (
    d_date_sk                 integer       NOT NULL,
    d_date_id                 char(16)      NOT NULL,
    d_date                    date,
    d_month_seq               integer,
    d_week_seq                integer,
    d_quarter_seq             integer,
    d_year                    integer,
    d_dow                     integer,
    d_moy                     integer,
    d_dom                     integer,
    d_qoy                     integer,
    d_fy_year                 integer,
    d_fy_quarter_seq          integer,
    d_fy_week_seq             integer,
    d_day_name                char(9),
    d_quarter_name            char(6),
    d_holiday                 char(1),
    d_weekend                 char(1),
    d_following_holiday       char(1),
    d_first_dom               integer,
    d_last_dom                integer,
    d_same_day_ly             integer,
    d_same_day_lq             integer,
    d_current_day             char(1),
    d_current_week            char(1),
    d_current_month           char(1),
    d_current_quarter         char(1),
    d_current_year            char(1)
);
CREATE TABLE my_pg.warehouse (
    w_warehouse_sk            integer       NOT NULL,
    w_warehouse_id            char(16)      NOT NULL,
    w_warehouse_name          varchar(20),
    w_warehouse_sq_ft         integer,
    w_street_number           char(10),
    w_street_name             varchar(60),
    w_street_type             char(15),
    w_suite_number            char(10),
    w_city                    varchar(60),
    w_county                  varchar(30),
    w_state                   char(2),
    w_zip                     char(10),
    w_country                 varchar(20),
    w_gmt_offset              decimal(5,2)
);
CREATE TABLE my_pg.ship_mode (
    sm_ship_mode_sk           integer       NOT NULL,
    sm_ship_mode_id           char(16)      NOT NULL,
    sm_type                   char(30),
    sm_code                   char(10),
    sm_carrier                char(20),
    sm_contract               char(20)
);
CREATE TABLE my_pg.time_dim (
    t_time_sk                 integer       NOT NULL,
    t_time_id                 char(16)      NOT NULL,
    t_time                    integer,
    t_hour                    integer,
    t_minute                  integer,
    t_second                  integer,
    t_am_pm                   char(2),
    t_shift                   char(20),
    t_sub_shift               char(20),
    t_meal_time               char(20)
);
CREATE TABLE my_pg.reason (
    r_reason_sk               integer       NOT NULL,
    r_reason_id               char(16)      NOT NULL,
    r_reason_desc             char(100)
);
CREATE TABLE my_pg.income_band (
    ib_income_band_sk         integer       NOT NULL,
    ib_lower_bound            integer,
    ib_upper_bound            integer
);
CREATE TABLE my_pg.item (
    i_item_sk                 integer       NOT NULL,
    i_item_id                 char(16)      NOT NULL,
    i_rec_start_date          date,
    i_rec_end_date            date,
    i_item_desc               varchar(200),
    i_current_price           decimal(7,2),
    i_wholesale_cost          decimal(7,2),
    i_brand_id                integer,
    i_brand                   char(50),
    i_class_id                integer,
    i_class                   char(50),
    i_category_id             integer,
    i_category                char(50),
    i_manufact_id             integer,
    i_manufact                char(50),
    i_size                    char(20),
    i_formulation             char(20),
    i_color                   char(20),
    i_units                   char(10),
    i_container               char(10),
    i_manager_id              integer,
    i_product_name            char(50)
);
CREATE TABLE my_pg.store (
    s_store_sk                integer       NOT NULL,
    s_store_id                char(16)      NOT NULL,
    s_rec_start_date          date,
    s_rec_end_date            date,
    s_closed_date_sk          integer,
    s_store_name              varchar(50),
    s_number_employees        integer,
    s_floor_space             integer,
    s_hours                   char(20),
    s_manager                 varchar(40),
    s_market_id               integer,
    s_geography_class         varchar(100),
    s_market_desc             varchar(100),
    s_market_manager          varchar(40),
    s_division_id             integer,
    s_division_name           varchar(50),
    s_company_id              integer,
    s_company_name            varchar(50),
    s_street_number           varchar(10),
    s_street_name             varchar(60),
    s_street_type             char(15),
    s_suite_number            char(10),
    s_city                    varchar(60),
    s_county                  varchar(30),
    s_state                   char(2),
    s_zip                     char(10),
    s_country                 varchar(20),
    s_gmt_offset              decimal(5,2),
    s_tax_precentage          decimal(5,2)
);
CREATE TABLE my_pg.call_center (
    cc_call_center_sk         integer       NOT NULL,
    cc_call_center_id         char(16)      NOT NULL,
    cc_rec_start_date         date,
    cc_rec_end_date           date,
    cc_closed_date_sk         integer,
    cc_open_date_sk           integer,
    cc_name                   varchar(50),
    cc_class                  varchar(50),
    cc_employees              integer,
    cc_sq_ft                  integer,
    cc_hours                  char(20),
    cc_manager                varchar(40),
    cc_mkt_id                 integer,
    cc_mkt_class              char(50),
    cc_mkt_desc               varchar(100),
    cc_market_manager         varchar(40),
    cc_division               integer,
    cc_division_name          varchar(50),
    cc_company                integer,
    cc_company_name           char(50),
    cc_street_number          char(10),
    cc_street_name            varchar(60),
    cc_street_type            char(15),
    cc_suite_number           char(10),
    cc_city                   varchar(60),
    cc_county                 varchar(30),
    cc_state                  char(2),
    cc_zip                    char(10),
    cc_country                varchar(20),
    cc_gmt_offset             decimal(5,2),
    cc_tax_percentage         decimal(5,2)
);
CREATE TABLE my_pg.customer (
    c_customer_sk             integer       NOT NULL,
    c_customer_id             char(16)      NOT NULL,
    c_current_cdemo_sk        integer,
    c_current_hdemo_sk        integer,
    c_current_addr_sk         integer,
    c_first_shipto_date_sk    integer,
    c_first_sales_date_sk     integer,
    c_salutation              char(10),
    c_first_name              char(20),
    c_last_name               char(30),
    c_preferred_cust_flag     char(1),
    c_birth_day               integer,
    c_birth_month             integer,
    c_birth_year              integer,
    c_birth_country           varchar(20),
    c_login                   char(13),
    c_email_address           char(50),
    c_last_review_date_sk     integer
);
CREATE TABLE my_pg.web_site (
    web_site_sk               integer       NOT NULL,
    web_site_id               char(16)      NOT NULL,
    web_rec_start_date        date,
    web_rec_end_date          date,
    web_name                  varchar(50),
    web_open_date_sk          integer,
    web_close_date_sk         integer,
    web_class                 varchar(50),
    web_manager               varchar(40),
    web_mkt_id                integer,
    web_mkt_class             varchar(50),
    web_mkt_desc              varchar(100),
    web_market_manager        varchar(40),
    web_company_id            integer,
    web_company_name          char(50),
    web_street_number         char(10),
    web_street_name           varchar(60),
    web_street_type           char(15),
    web_suite_number          char(10),
    web_city                  varchar(60),
    web_county                varchar(30),
    web_state                 char(2),
    web_zip                   char(10),
    web_country               varchar(20),
    web_gmt_offset            decimal(5,2),
    web_tax_percentage        decimal(5,2)
);
CREATE TABLE my_pg.store_returns (
    sr_returned_date_sk       integer,
    sr_return_time_sk         integer,
    sr_item_sk                integer       NOT NULL,
    sr_customer_sk            integer,
    sr_cdemo_sk               integer,
    sr_hdemo_sk               integer,
    sr_addr_sk                integer,
    sr_store_sk               integer,
    sr_reason_sk              integer,
    sr_ticket_number          integer       NOT NULL,
    sr_return_quantity        integer,
    sr_return_amt             decimal(7,2),
    sr_return_tax             decimal(7,2),
    sr_return_amt_inc_tax     decimal(7,2),
    sr_fee                    decimal(7,2),
    sr_return_ship_cost       decimal(7,2),
    sr_refunded_cash          decimal(7,2),
    sr_reversed_charge        decimal(7,2),
    sr_store_credit           decimal(7,2),
    sr_net_loss               decimal(7,2)
);
CREATE TABLE my_pg.household_demographics (
    hd_demo_sk                integer       NOT NULL,
    hd_income_band_sk         integer,
    hd_buy_potential          char(15),
    hd_dep_count              integer,
    hd_vehicle_count          integer
);
CREATE TABLE my_pg.web_page (
    wp_web_page_sk            integer       NOT NULL,
    wp_web_page_id            char(16)      NOT NULL,
    wp_rec_start_date         date,
    wp_rec_end_date           date,
    wp_creation_date_sk       integer,
    wp_access_date_sk         integer,
    wp_autogen_flag           char(1),
    wp_customer_sk            integer,
    wp_url                    varchar(100),
    wp_type                   char(50),
    wp_char_count             integer,
    wp_link_count             integer,
    wp_image_count            integer,
    wp_max_ad_count           integer
);
CREATE TABLE my_pg.promotion (
    p_promo_sk                integer       NOT NULL,
    p_promo_id                char(16)      NOT NULL,
    p_start_date_sk           integer,
    p_end_date_sk             integer,
    p_item_sk                 integer,
    p_cost                    decimal(15,2),
    p_response_target         integer,
    p_promo_name              char(50),
    p_channel_dmail           char(1),
    p_channel_email           char(1),
    p_channel_catalog         char(1),
    p_channel_tv              char(1),
    p_channel_radio           char(1),
    p_channel_press           char(1),
    p_channel_event           char(1),
    p_channel_demo            char(1),
    p_channel_details         varchar(100),
    p_purpose                 char(15),
    p_discount_active         char(1)
);
CREATE TABLE my_pg.catalog_page (
    cp_catalog_page_sk        integer       NOT NULL,
    cp_catalog_page_id        char(16)      NOT NULL,
    cp_start_date_sk          integer,
    cp_end_date_sk            integer,
    cp_department             varchar(50),
    cp_catalog_number         integer,
    cp_catalog_page_number    integer,
    cp_description            varchar(100),
    cp_type                   varchar(100)
);
CREATE TABLE my_pg.inventory (
    inv_date_sk               integer       NOT NULL,
    inv_item_sk               integer       NOT NULL,
    inv_warehouse_sk          integer       NOT NULL,
    inv_quantity_on_hand      integer
);
CREATE TABLE my_pg.catalog_returns (
    cr_returned_date_sk       integer,
    cr_returned_time_sk       integer,
    cr_item_sk                integer       NOT NULL,
    cr_refunded_customer_sk   integer,
    cr_refunded_cdemo_sk      integer,
    cr_refunded_hdemo_sk      integer,
    cr_refunded_addr_sk       integer,
    cr_returning_customer_sk  integer,
    cr_returning_cdemo_sk     integer,
    cr_returning_hdemo_sk     integer,
    cr_returning_addr_sk      integer,
    cr_call_center_sk         integer,
    cr_catalog_page_sk        integer,
    cr_ship_mode_sk           integer,
    cr_warehouse_sk           integer,
    cr_reason_sk              integer,
    cr_order_number           integer       NOT NULL,
    cr_return_quantity        integer,
    cr_return_amount          decimal(7,2),
    cr_return_tax             decimal(7,2),
    cr_return_amt_inc_tax     decimal(7,2),
    cr_fee                    decimal(7,2),
    cr_return_ship_cost       decimal(7,2),
    cr_refunded_cash          decimal(7,2),
    cr_reversed_charge        decimal(7,2),
    cr_store_credit           decimal(7,2),
    cr_net_loss               decimal(7,2)
);
CREATE TABLE my_pg.web_returns (
    wr_returned_date_sk       integer,
    wr_returned_time_sk       integer,
    wr_item_sk                integer       NOT NULL,
    wr_refunded_customer_sk   integer,
    wr_refunded_cdemo_sk      integer,
    wr_refunded_hdemo_sk      integer,
    wr_refunded_addr_sk       integer,
    wr_returning_customer_sk  integer,
    wr_returning_cdemo_sk     integer,
    wr_returning_hdemo_sk     integer,
    wr_returning_addr_sk      integer,
    wr_web_page_sk            integer,
    wr_reason_sk              integer,
    wr_order_number           integer       NOT NULL,
    wr_return_quantity        integer,
    wr_return_amt             decimal(7,2),
    wr_return_tax             decimal(7,2),
    wr_return_amt_inc_tax     decimal(7,2),
    wr_fee                    decimal(7,2),
    wr_return_ship_cost       decimal(7,2),
    wr_refunded_cash          decimal(7,2),
    wr_reversed_charge        decimal(7,2),
    wr_account_credit         decimal(7,2),
    wr_net_loss               decimal(7,2)
);
CREATE TABLE my_pg.web_sales (
    ws_sold_date_sk           integer,
    ws_sold_time_sk           integer,
    ws_ship_date_sk           integer,
    ws_item_sk                integer       NOT NULL,
    ws_bill_customer_sk       integer,
    ws_bill_cdemo_sk          integer,
    ws_bill_hdemo_sk          integer,
    ws_bill_addr_sk           integer,
    ws_ship_customer_sk       integer,
    ws_ship_cdemo_sk          integer,
    ws_ship_hdemo_sk          integer,
    ws_ship_addr_sk           integer,
    ws_web_page_sk            integer,
    ws_web_site_sk            integer,
    ws_ship_mode_sk           integer,
    ws_warehouse_sk           integer,
    ws_promo_sk               integer,
    ws_order_number           integer       NOT NULL,
    ws_quantity               integer,
    ws_wholesale_cost         decimal(7,2),
    ws_list_price             decimal(7,2),
    ws_sales_price            decimal(7,2),
    ws_ext_discount_amt       decimal(7,2),
    ws_ext_sales_price        decimal(7,2),
    ws_ext_wholesale_cost     decimal(7,2),
    ws_ext_list_price         decimal(7,2),
    ws_ext_tax                decimal(7,2),
    ws_coupon_amt             decimal(7,2),
    ws_ext_ship_cost          decimal(7,2),
    ws_net_paid               decimal(7,2),
    ws_net_paid_inc_tax       decimal(7,2),
    ws_net_paid_inc_ship      decimal(7,2),
    ws_net_paid_inc_ship_tax  decimal(7,2),
    ws_net_profit             decimal(7,2)
);
CREATE TABLE my_pg.catalog_sales (
    cs_sold_date_sk           integer,
    cs_sold_time_sk           integer,
    cs_ship_date_sk           integer,
    cs_bill_customer_sk       integer,
    cs_bill_cdemo_sk          integer,
    cs_bill_hdemo_sk          integer,
    cs_bill_addr_sk           integer,
    cs_ship_customer_sk       integer,
    cs_ship_cdemo_sk          integer,
    cs_ship_hdemo_sk          integer,
    cs_ship_addr_sk           integer,
    cs_call_center_sk         integer,
    cs_catalog_page_sk        integer,
    cs_ship_mode_sk           integer,
    cs_warehouse_sk           integer,
    cs_item_sk                integer       NOT NULL,
    cs_promo_sk               integer,
    cs_order_number           integer       NOT NULL,
    cs_quantity               integer,
    cs_wholesale_cost         decimal(7,2),
    cs_list_price             decimal(7,2),
    cs_sales_price            decimal(7,2),
    cs_ext_discount_amt       decimal(7,2),
    cs_ext_sales_price        decimal(7,2),
    cs_ext_wholesale_cost     decimal(7,2),
    cs_ext_list_price         decimal(7,2),
    cs_ext_tax                decimal(7,2),
    cs_coupon_amt             decimal(7,2),
    cs_ext_ship_cost          decimal(7,2),
    cs_net_paid               decimal(7,2),
    cs_net_paid_inc_tax       decimal(7,2),
    cs_net_paid_inc_ship      decimal(7,2),
    cs_net_paid_inc_ship_tax  decimal(7,2),
    cs_net_profit             decimal(7,2)
);
CREATE TABLE my_pg.store_sales (
    ss_sold_date_sk           integer,
    ss_sold_time_sk           integer,
    ss_item_sk                integer       NOT NULL,
    ss_customer_sk            integer,
    ss_cdemo_sk               integer,
    ss_hdemo_sk               integer,
    ss_addr_sk                integer,
    ss_store_sk               integer,
    ss_promo_sk               integer,
    ss_ticket_number          integer       NOT NULL,
    ss_quantity               integer,
    ss_wholesale_cost         decimal(7,2),
    ss_list_price             decimal(7,2),
    ss_sales_price            decimal(7,2),
    ss_ext_discount_amt       decimal(7,2),
    ss_ext_sales_price        decimal(7,2),
    ss_ext_wholesale_cost     decimal(7,2),
    ss_ext_list_price         decimal(7,2),
    ss_ext_tax                decimal(7,2),
    ss_coupon_amt             decimal(7,2),
    ss_net_paid               decimal(7,2),
    ss_net_paid_inc_tax       decimal(7,2),
    ss_net_profit             decimal(7,2)
);
\endif

---------------------------------------------------------------------------------------------
-- Fixed-size dimensions (same size at every SCALE, as in TPC-DS) and item.
\if :{?part_dims}
INSERT INTO my_pg.income_band
SELECT b + 1, CASE WHEN b = 0 THEN 0 ELSE b * 10000 + 1 END, (b + 1) * 10000
FROM generate_series(0, 19) b;

INSERT INTO my_pg.reason
SELECT r, pg2md_gen.id16(r), d
FROM unnest(ARRAY['Package was damaged','Stopped working','Arrived too late',
  'Not the product that was ordered','Parts missing','Incompatible with another product',
  'Gift exchange','Did not like the colour','Did not like the model','Did not like the make',
  'Did not like the warranty','No service centre nearby','Found a better price elsewhere',
  'Found a better warranty elsewhere','No longer working','Did not fit','Wrong size',
  'Changed my mind','Unauthorised purchase','Duplicate purchase','Ordered by mistake',
  'Better model released','Too expensive','Quality below expectations','Missing manual',
  'Wrong colour shipped','Wrong item shipped','Item defective on arrival','Not as described',
  'Delivery address wrong','Recalled by maker','Bought as a test','Received two',
  'Box opened before delivery',NULL]::text[]) WITH ORDINALITY AS u(d, r);

INSERT INTO my_pg.ship_mode
SELECT m + 1, pg2md_gen.id16(m + 1),
       (ARRAY['EXPRESS','NEXT DAY','OVERNIGHT','TWO DAY','REGULAR','LIBRARY'])[m % 6 + 1],
       (ARRAY['AIR','SURFACE','SEA','BIKE','HAND CARRY','MESSENGER'])[(m / 6 + m) % 6 + 1],
       (ARRAY['UPS','FEDEX','AIRBORNE','USPS','DHL','TBS','ZHOU','ZOUROS','MSC','LATVIAN',
              'ALLIANCE','ORIENTAL','BARIAN','BOXBUNDLES','GREAT EASTERN','DIAMOND','RUPEKSA',
              'GERMA','HARMSTORF','PRIVATECARRIER'])[m + 1],
       substr(md5('ship_mode' || m), 1, 4 + (pg2md_gen.h(m, 1) % 16)::int)
FROM generate_series(0, 19) m;

INSERT INTO my_pg.household_demographics
SELECT i + 1, i % 20 + 1,
       (ARRAY['>10000','5001-10000','1001-5000','501-1000','0-500','Unknown'])[(i / 20) % 6 + 1],
       (i / 120) % 10, (i / 1200) % 6 - 1
FROM generate_series(0, 7199) i;

INSERT INTO my_pg.date_dim
SELECT sk, pg2md_gen.id16(sk), d,
       (y - 1900) * 12 + m - 1,
       (sk - 2415022 + 1) / 7 + 1,
       (y - 1900) * 4 + q,
       y, extract(dow FROM d)::int, m, extract(day FROM d)::int, q,
       y, (y - 1900) * 4 + q, (sk - 2415022 + 1) / 7 + 1,
       to_char(d, 'FMDay'), y || 'Q' || q,
       CASE WHEN (m, extract(day FROM d)) IN ((1,1),(7,4),(12,25),(11,11)) THEN 'Y' ELSE 'N' END,
       CASE WHEN extract(dow FROM d) IN (0, 6) THEN 'Y' ELSE 'N' END,
       CASE WHEN (m, extract(day FROM d)) IN ((1,2),(7,5),(12,26),(11,12)) THEN 'Y' ELSE 'N' END,
       sk - extract(day FROM d)::int + 1,
       sk + ((date_trunc('month', d) + interval '1 month - 1 day')::date - d),
       sk - (d - (d - interval '1 year')::date),
       sk - (d - (d - interval '3 months')::date),
       CASE WHEN d = date '2003-01-02' THEN 'Y' ELSE 'N' END,
       CASE WHEN d BETWEEN date '2002-12-29' AND date '2003-01-04' THEN 'Y' ELSE 'N' END,
       CASE WHEN y = 2003 AND m = 1 THEN 'Y' ELSE 'N' END,
       CASE WHEN y = 2003 AND q = 1 THEN 'Y' ELSE 'N' END,
       CASE WHEN y = 2003 THEN 'Y' ELSE 'N' END
FROM (SELECT sk, d, extract(year FROM d)::int AS y, extract(month FROM d)::int AS m,
             extract(quarter FROM d)::int AS q
      FROM (SELECT sk, date '1900-01-02' + (sk - 2415022) AS d
            FROM generate_series(2415022, 2415022 + 73048) sk) s0 OFFSET 0) s;

INSERT INTO my_pg.time_dim
SELECT t, pg2md_gen.id16(t + 1), t, t / 3600, (t / 60) % 60, t % 60,
       CASE WHEN t < 43200 THEN 'AM' ELSE 'PM' END,
       CASE WHEN t / 3600 < 8 THEN 'third' WHEN t / 3600 < 16 THEN 'first' ELSE 'second' END,
       CASE WHEN t / 3600 < 6 THEN 'night' WHEN t / 3600 < 12 THEN 'morning'
            WHEN t / 3600 < 18 THEN 'afternoon' ELSE 'evening' END,
       CASE WHEN t / 3600 BETWEEN 6 AND 8 THEN 'breakfast' WHEN t / 3600 BETWEEN 11 AND 13 THEN 'lunch'
            WHEN t / 3600 BETWEEN 17 AND 19 THEN 'dinner' END
FROM generate_series(0, 86399) t;

INSERT INTO my_pg.warehouse
SELECT w, pg2md_gen.id16(w),
       initcap(pg2md_gen.words(100000 + w, 3, 20)),
       CASE WHEN w <> 4 THEN 50000 + (pg2md_gen.h(w, 201) % 950000)::int END,
       (pg2md_gen.h(w, 202) % 1000)::text,
       (pg2md_gen.street_names())[1 + pg2md_gen.h(w, 203) % 50],
       (pg2md_gen.street_types())[1 + pg2md_gen.h(w, 204) % 20],
       'Suite ' || (pg2md_gen.h(w, 205) % 500),
       (pg2md_gen.cities())[1 + pg2md_gen.h(w, 206) % 40],
       (pg2md_gen.counties())[1 + pg2md_gen.h(w, 207) % 30],
       (pg2md_gen.states())[1 + pg2md_gen.h(w, 208) % 50],
       lpad((pg2md_gen.h(w, 209) % 100000)::text, 5, '0'),
       'United States',
       -5 - (pg2md_gen.h(w, 210) % 4)::int
FROM generate_series(1, 5) w;

INSERT INTO my_pg.store
SELECT s, pg2md_gen.id16((s + 1) / 2),
       CASE WHEN s % 2 = 1 THEN date '1997-03-13' ELSE date '2000-03-13' END,
       CASE WHEN s % 2 = 1 AND s < 12 THEN date '2000-03-12' END,
       CASE WHEN s IN (3, 10) THEN 2450900 + (pg2md_gen.h(s, 300) % 1000)::int END,
       pg2md_gen.syl(s),
       200 + (pg2md_gen.h(s, 301) % 101)::int,
       5000000 + (pg2md_gen.h(s, 302) % 5000000)::int,
       (ARRAY['8AM-4PM','8AM-12AM','8AM-8AM'])[1 + pg2md_gen.h(s, 303) % 3],
       (pg2md_gen.first_names())[1 + pg2md_gen.h(s, 304) % 80] || ' ' || (pg2md_gen.last_names())[1 + pg2md_gen.h(s, 305) % 80],
       1 + (pg2md_gen.h(s, 306) % 10)::int,
       'Unknown',
       initcap(pg2md_gen.words(200000 + s, 8, 100)),
       (pg2md_gen.first_names())[1 + pg2md_gen.h(s, 307) % 80] || ' ' || (pg2md_gen.last_names())[1 + pg2md_gen.h(s, 308) % 80],
       1, 'Unknown', 1, 'Unknown',
       (pg2md_gen.h(s, 309) % 1000)::text,
       (pg2md_gen.street_names())[1 + pg2md_gen.h(s, 310) % 50] || ' ' || (pg2md_gen.street_names())[1 + pg2md_gen.h(s, 311) % 50],
       (pg2md_gen.street_types())[1 + pg2md_gen.h(s, 312) % 20],
       'Suite ' || (pg2md_gen.h(s, 313) % 500),
       (pg2md_gen.cities())[1 + pg2md_gen.h(s, 314) % 40],
       (pg2md_gen.counties())[1 + pg2md_gen.h(s, 315) % 30],
       (pg2md_gen.states())[1 + pg2md_gen.h(s, 316) % 50],
       lpad((pg2md_gen.h(s, 317) % 100000)::text, 5, '0'),
       'United States',
       -5 - (pg2md_gen.h(s, 318) % 4)::int,
       (pg2md_gen.h(s, 319) % 12) * 0.01
FROM generate_series(1, 12) s;

INSERT INTO my_pg.call_center
SELECT c, pg2md_gen.id16((c + 1) / 2),
       CASE WHEN c % 2 = 1 THEN date '1998-01-01' ELSE date '2000-01-01' END,
       CASE WHEN c % 2 = 1 THEN date '1999-12-31' END,
       NULL::int,
       2450800 + (pg2md_gen.h(c, 400) % 500)::int,
       (ARRAY['NY Metro','Mid Atlantic','North Midwest','Pacific Northwest','California','Hawaii/Alaska'])[(c + 1) / 2],
       (ARRAY['small','medium','large'])[1 + pg2md_gen.h(c, 401) % 3],
       1000 + (pg2md_gen.h(c, 402) % 60000)::int,
       10000 + (pg2md_gen.h(c, 403) % 1000000)::int,
       (ARRAY['8AM-4PM','8AM-12AM','8AM-8AM'])[1 + pg2md_gen.h(c, 404) % 3],
       (pg2md_gen.first_names())[1 + pg2md_gen.h(c, 405) % 80] || ' ' || (pg2md_gen.last_names())[1 + pg2md_gen.h(c, 406) % 80],
       1 + (pg2md_gen.h(c, 407) % 6)::int,
       initcap(pg2md_gen.words(300000 + 2 * c, 5, 50)),
       initcap(pg2md_gen.words(300001 + 2 * c, 10, 100)),
       (pg2md_gen.first_names())[1 + pg2md_gen.h(c, 408) % 80] || ' ' || (pg2md_gen.last_names())[1 + pg2md_gen.h(c, 409) % 80],
       1 + (pg2md_gen.h(c, 410) % 6)::int,
       pg2md_gen.syl(1 + pg2md_gen.h(c, 411) % 6),
       1 + (pg2md_gen.h(c, 412) % 6)::int,
       pg2md_gen.syl(1 + pg2md_gen.h(c, 413) % 6),
       (pg2md_gen.h(c, 414) % 1000)::text,
       (pg2md_gen.street_names())[1 + pg2md_gen.h(c, 415) % 50] || ' ' || (pg2md_gen.street_names())[1 + pg2md_gen.h(c, 416) % 50],
       (pg2md_gen.street_types())[1 + pg2md_gen.h(c, 417) % 20],
       'Suite ' || (pg2md_gen.h(c, 418) % 500),
       (pg2md_gen.cities())[1 + pg2md_gen.h(c, 419) % 40],
       (pg2md_gen.counties())[1 + pg2md_gen.h(c, 420) % 30],
       (pg2md_gen.states())[1 + pg2md_gen.h(c, 421) % 50],
       lpad((pg2md_gen.h(c, 422) % 100000)::text, 5, '0'),
       'United States',
       -5 - (pg2md_gen.h(c, 423) % 4)::int,
       (pg2md_gen.h(c, 424) % 12) * 0.01
FROM generate_series(1, 6) c;

INSERT INTO my_pg.catalog_page
SELECT p, pg2md_gen.id16(p),
       CASE WHEN z % 97 <> 0 THEN 2450815 + ((p - 1) / 108) * 17 END,
       CASE WHEN z % 97 <> 0 THEN 2450815 + ((p - 1) / 108) * 17 + 30 + (z % 60)::int END,
       CASE WHEN (z >> 8) % 97 <> 0 THEN 'DEPARTMENT' END,
       (p - 1) / 108 + 1,
       (p - 1) % 108 + 1,
       CASE WHEN (z >> 16) % 97 <> 0 THEN initcap(pg2md_gen.words(400000 + p, 4 + (z % 10)::int, 100)) END,
       CASE WHEN (z >> 4) % 97 <> 0 THEN (ARRAY['bi-annual','quarterly','monthly'])[1 + ((p - 1) / 108) % 3] END
FROM (SELECT p, pg2md_gen.h(p, 500) AS z FROM generate_series(1, 11718) p OFFSET 0) s;

INSERT INTO my_pg.web_page
SELECT p, pg2md_gen.id16((p + 1) / 2),
       CASE WHEN p % 2 = 1 THEN date '1997-09-03' ELSE date '2000-09-03' END,
       CASE WHEN p % 2 = 1 THEN date '2000-09-02' END,
       2450600 + (pg2md_gen.h(p, 600) % 200)::int,
       2452500 + (pg2md_gen.h(p, 601) % 150)::int,
       CASE WHEN pg2md_gen.h(p, 602) % 4 = 0 THEN 'Y' ELSE 'N' END,
       CASE WHEN pg2md_gen.h(p, 602) % 4 = 0 THEN 1 + (pg2md_gen.h(p, 603) % :n_cust)::int END,
       'http://www.example.com/page' || p,
       (ARRAY['welcome','protected','feedback','general','ad','order','dynamic'])[1 + pg2md_gen.h(p, 604) % 7],
       300 + (pg2md_gen.h(p, 605) % 8000)::int,
       2 + (pg2md_gen.h(p, 606) % 24)::int,
       1 + (pg2md_gen.h(p, 607) % 7)::int,
       (pg2md_gen.h(p, 608) % 5)::int
FROM generate_series(1, 60) p;

INSERT INTO my_pg.web_site
SELECT w, pg2md_gen.id16((w + 1) / 2),
       CASE WHEN w % 2 = 1 THEN date '1997-08-16' ELSE date '2000-08-16' END,
       CASE WHEN w % 2 = 1 THEN date '2000-08-15' END,
       'site_' || ((w - 1) / 2),
       2450600 + (pg2md_gen.h(w, 700) % 800)::int,
       CASE WHEN pg2md_gen.h(w, 701) % 5 = 0 THEN 2452000 + (pg2md_gen.h(w, 702) % 600)::int END,
       'Unknown',
       (pg2md_gen.first_names())[1 + pg2md_gen.h(w, 703) % 80] || ' ' || (pg2md_gen.last_names())[1 + pg2md_gen.h(w, 704) % 80],
       1 + (pg2md_gen.h(w, 705) % 6)::int,
       initcap(pg2md_gen.words(500000 + 2 * w, 6, 50)),
       initcap(pg2md_gen.words(500001 + 2 * w, 12, 100)),
       (pg2md_gen.first_names())[1 + pg2md_gen.h(w, 706) % 80] || ' ' || (pg2md_gen.last_names())[1 + pg2md_gen.h(w, 707) % 80],
       1 + (pg2md_gen.h(w, 708) % 6)::int,
       pg2md_gen.syl(1 + pg2md_gen.h(w, 708) % 6),
       (pg2md_gen.h(w, 709) % 1000)::text,
       (pg2md_gen.street_names())[1 + pg2md_gen.h(w, 710) % 50] || ' ' || (pg2md_gen.street_names())[1 + pg2md_gen.h(w, 711) % 50],
       (pg2md_gen.street_types())[1 + pg2md_gen.h(w, 712) % 20],
       'Suite ' || (pg2md_gen.h(w, 713) % 500),
       (pg2md_gen.cities())[1 + pg2md_gen.h(w, 714) % 40],
       (pg2md_gen.counties())[1 + pg2md_gen.h(w, 715) % 30],
       (pg2md_gen.states())[1 + pg2md_gen.h(w, 716) % 50],
       lpad((pg2md_gen.h(w, 717) % 100000)::text, 5, '0'),
       'United States',
       -5 - (pg2md_gen.h(w, 718) % 4)::int,
       (pg2md_gen.h(w, 719) % 12) * 0.01
FROM generate_series(1, 30) w;

INSERT INTO my_pg.promotion
SELECT p, pg2md_gen.id16(p),
       CASE WHEN z % 61 <> 0 THEN 2450100 + (z % 2000)::int END,
       CASE WHEN z % 61 <> 0 THEN 2450100 + (z % 2000)::int + 1 + ((z >> 11) % 60)::int END,
       CASE WHEN (z >> 3) % 61 <> 0 THEN 1 + (pg2md_gen.h(p, 801) % :n_item)::int END,
       1000.00,
       1,
       pg2md_gen.syl(1 + pg2md_gen.h(p, 802) % 10),
       CASE WHEN (z >> 1) % 2 = 0 THEN 'Y' ELSE 'N' END,
       'N',
       'N',
       CASE WHEN (z >> 2) % 2 = 0 THEN 'Y' ELSE 'N' END,
       'N',
       CASE WHEN (z >> 4) % 3 = 0 THEN 'Y' ELSE 'N' END,
       CASE WHEN (z >> 5) % 2 = 0 THEN 'Y' ELSE 'N' END,
       'N',
       CASE WHEN (z >> 6) % 61 <> 0 THEN initcap(pg2md_gen.words(600000 + p, 6 + ((z >> 7) % 8)::int, 100)) END,
       'Unknown',
       'N'
FROM (SELECT p, pg2md_gen.h(p, 800) AS z FROM generate_series(1, 300) p OFFSET 0) s;

-- item: two revisions (rows) per business id, like TPC-DS's slowly changing dimensions.
INSERT INTO my_pg.item
SELECT k, pg2md_gen.id16((k + 1) / 2),
       CASE WHEN k % 2 = 1 THEN date '1997-10-27' ELSE date '2000-10-27' END,
       CASE WHEN k % 2 = 1 AND k < :n_item THEN date '2000-10-26' END,
       CASE WHEN z0 % 97 <> 0 THEN pg2md_gen.words(10000000 + k, 5 + (z1 % 20)::int, 200) END,
       CASE WHEN (z0 >> 8) % 97 <> 0 THEN price * 0.01 END,
       CASE WHEN (z0 >> 16) % 97 <> 0 THEN (price * (30 + z1 % 60) / 100) * 0.01 END,
       cat * 1000000 + cls * 1000 + br,
       (ARRAY['amalg','edu pack','exporti','importo','scholar','brand','corp','namely','maxi','univ'])[cat]
         || (ARRAY['amalg','edu pack','exporti','importo'])[cls] || ' #' || br,
       cls,
       (ARRAY['dresses','maternity','swimwear','fragrances', 'shirts','pants','accessories','sports-apparel',
              'infants','toddlers','newborn','school-uniforms', 'athletic','kids','mens','womens',
              'classical','country','pop','rock', 'bracelets','rings','pendants','estate',
              'bedding','furniture','decor','lighting', 'baseball','camping','fishing','golf',
              'arts','business','fiction','history', 'audio','cameras','computers','televisions'])[(cat - 1) * 4 + cls],
       cat,
       (ARRAY['Women','Men','Children','Shoes','Music','Jewelry','Home','Sports','Books','Electronics'])[cat],
       mf,
       pg2md_gen.syl(mf),
       (ARRAY['petite','small','medium','large','extra large','economy','N/A'])[1 + (z1 >> 8) % 7],
       left(lpad(((z1 >> 4) % 1000000)::text, 6, '0') || (pg2md_gen.colors())[1 + (z2 >> 3) % 92] || ((z2 >> 12) % 100000)::text, 20),
       (pg2md_gen.colors())[1 + z2 % 92],
       (ARRAY['Each','Ounce','Pound','Dozen','Case','Box','Pallet','Gross','Bunch','Bundle',
              'Carton','Cup','Dram','Gram','Lb','N/A','Oz','Tbl','Ton','Tsp'])[1 + (z2 >> 8) % 20],
       'Unknown',
       1 + ((z0 >> 20) % 100)::int,
       pg2md_gen.syl(k)
FROM (SELECT k, z0, z1, z2,
             (1 + z0 % 10)::int AS cat, (1 + (z1 >> 16) % 4)::int AS cls, (1 + (z2 >> 20) % 10)::int AS br,
             (1 + (z1 >> 20) % 1000)::int AS mf, (9 + z2 % 9991) AS price
      FROM (SELECT k, pg2md_gen.h((k + 1) / 2, 900) AS z0, pg2md_gen.h(k, 901) AS z1, pg2md_gen.h(k, 902) AS z2
            FROM generate_series(1, :n_item) k) s0 OFFSET 0) s;
\endif

---------------------------------------------------------------------------------------------
\if :{?part_customer}
INSERT INTO my_pg.customer_address
SELECT a, pg2md_gen.id16(a),
       CASE WHEN z0 % 32 <> 0 THEN (z1 % 1000)::text END,
       CASE WHEN (z0 >> 5) % 32 <> 0 THEN
         CASE WHEN (z1 >> 10) % 2 = 0 THEN (pg2md_gen.street_names())[1 + z2 % 50]
              ELSE (pg2md_gen.street_names())[1 + z2 % 50] || ' ' || (pg2md_gen.street_names())[1 + (z2 >> 6) % 50] END END,
       CASE WHEN (z0 >> 10) % 32 <> 0 THEN (pg2md_gen.street_types())[1 + (z2 >> 12) % 20] END,
       CASE WHEN (z0 >> 15) % 32 <> 0 THEN 'Suite ' || CASE WHEN (z1 >> 11) % 2 = 0 THEN ((z1 >> 12) % 500)::text
                                                              ELSE chr(65 + ((z1 >> 12) % 26)::int) END END,
       CASE WHEN (z0 >> 20) % 32 <> 0 THEN (pg2md_gen.cities())[1 + (z2 >> 17) % 40] END,
       CASE WHEN (z0 >> 25) % 32 <> 0 THEN (pg2md_gen.counties())[1 + (z3 >> 3) % 30] END,
       CASE WHEN z4 % 32 <> 0 THEN (pg2md_gen.states())[1 + (z3 >> 8) % 50] END,
       CASE WHEN (z4 >> 5) % 32 <> 0 THEN lpad(((z3 >> 14) % 100000)::text, 5, '0') END,
       CASE WHEN (z4 >> 10) % 32 <> 0 THEN 'United States' END,
       CASE WHEN (z4 >> 15) % 32 <> 0 THEN -5 - (z3 % 6)::int END,
       CASE WHEN (z4 >> 20) % 32 <> 0 THEN (ARRAY['apartment','condo','single family'])[1 + (z4 >> 25) % 3] END
FROM (SELECT a, pg2md_gen.h(a, 1000) AS z0, pg2md_gen.h(a, 1001) AS z1, pg2md_gen.h(a, 1002) AS z2,
             pg2md_gen.h(a, 1003) AS z3, pg2md_gen.h(a, 1004) AS z4
      FROM generate_series(1, :n_addr) a OFFSET 0) s;

INSERT INTO my_pg.customer
SELECT c, pg2md_gen.id16(c),
       CASE WHEN z0 % 32 <> 0 THEN 1 + (z1 % :n_cdemo)::int END,
       CASE WHEN (z0 >> 5) % 32 <> 0 THEN 1 + ((z1 >> 3) % 7200)::int END,
       CASE WHEN (z0 >> 10) % 32 <> 0 THEN 1 + (z2 % :n_addr)::int END,
       CASE WHEN (z0 >> 15) % 32 <> 0 THEN first_sale + 30 + ((z2 >> 8) % 60)::int END,
       CASE WHEN (z0 >> 20) % 32 <> 0 THEN first_sale END,
       CASE WHEN (z0 >> 25) % 32 <> 0 THEN (ARRAY['Mr.','Mrs.','Ms.','Dr.','Miss','Sir'])[1 + (z3 >> 2) % 6] END,
       CASE WHEN z4 % 32 <> 0 THEN fname END,
       CASE WHEN (z4 >> 5) % 32 <> 0 THEN lname END,
       CASE WHEN (z4 >> 10) % 32 <> 0 THEN CASE WHEN (z3 >> 5) % 2 = 0 THEN 'Y' ELSE 'N' END END,
       CASE WHEN (z4 >> 15) % 32 <> 0 THEN 1 + ((z3 >> 6) % 28)::int END,
       CASE WHEN (z4 >> 20) % 32 <> 0 THEN 1 + ((z3 >> 11) % 12)::int END,
       CASE WHEN (z4 >> 25) % 32 <> 0 THEN 1924 + ((z3 >> 15) % 69)::int END,
       CASE WHEN z5 % 32 <> 0 THEN (pg2md_gen.countries())[1 + (z3 >> 22) % 40] END,
       NULL::text,
       CASE WHEN (z5 >> 5) % 32 <> 0 THEN fname || '.' || lname || '@' ||
            (ARRAY['example.com','example.org','example.net','mail.example','post.example'])[1 + (z5 >> 10) % 5] END,
       CASE WHEN (z5 >> 13) % 32 <> 0 THEN 2452283 + ((z5 >> 18) % 366)::int END
FROM (SELECT c, z0, z1, z2, z3, z4, z5,
             (pg2md_gen.first_names())[1 + z1 % 80] AS fname,
             (pg2md_gen.last_names())[1 + (z2 >> 16) % 80] AS lname,
             2448998 + (z3 % 3650)::int AS first_sale
      FROM (SELECT c, pg2md_gen.h(c, 1100) AS z0, pg2md_gen.h(c, 1101) AS z1, pg2md_gen.h(c, 1102) AS z2,
                   pg2md_gen.h(c, 1103) AS z3, pg2md_gen.h(c, 1104) AS z4, pg2md_gen.h(c, 1105) AS z5
            FROM generate_series(1, :n_cust) c) s0 OFFSET 0) s;
\endif

---------------------------------------------------------------------------------------------
-- customer_demographics: the full cross product of its attributes (1,920,800 rows); smaller
-- scales take its first rows.
\if :{?part_cdemo}
INSERT INTO my_pg.customer_demographics
SELECT i + 1,
       (ARRAY['M','F'])[i % 2 + 1],
       (ARRAY['M','S','D','W','U'])[(i / 2) % 5 + 1],
       (ARRAY['Primary','Secondary','College','2 yr Degree','4 yr Degree','Advanced Degree','Unknown'])[(i / 10) % 7 + 1],
       500 * ((i / 70) % 20 + 1),
       (ARRAY['Good','High Risk','Low Risk','Unknown'])[(i / 1400) % 4 + 1],
       (i / 5600) % 7,
       (i / 39200) % 7,
       (i / 274400) % 7
FROM generate_series(0, :n_cdemo - 1) i;
\endif

---------------------------------------------------------------------------------------------
-- inventory: one row per (week, item first revision, warehouse), weeks inv_from .. inv_to.
\if :{?part_inventory}
INSERT INTO my_pg.inventory
SELECT 2450815 + 7 * w, 2 * k + 1, wh,
       CASE WHEN (z >> 10) % 20 <> 0 THEN (z % 1001)::int END
FROM (SELECT w, k, wh, pg2md_gen.h((w::bigint * :n_inv_item + k) * 5 + wh, 1200) AS z
      FROM generate_series(:inv_from, :inv_to) w,
           generate_series(0, :n_inv_item - 1) k,
           generate_series(1, 5) wh OFFSET 0) s;
\endif

---------------------------------------------------------------------------------------------
-- Sales: line i belongs to ticket/order i / lines + 1 and carries `lines` distinct items.
-- Money is computed in integer cents, then scaled by 0.01 into decimal(7,2).
-- Returns: about one sales line in ten, chosen by a hash of (ticket, item).
\if :{?part_store}
INSERT INTO my_pg.store_sales
SELECT CASE WHEN n0 % 32 <> 0 THEN 2450816 + (t1 % 1823)::int END,
       CASE WHEN (n0 >> 5) % 32 <> 0 THEN 28800 + (t2 % 50400)::int END,
       item,
       CASE WHEN (n0 >> 10) % 32 <> 0 THEN 1 + (t3 % :n_cust)::int END,
       CASE WHEN (n0 >> 15) % 32 <> 0 THEN 1 + (t4 % :n_cdemo)::int END,
       CASE WHEN (n0 >> 20) % 32 <> 0 THEN 1 + ((t5 >> 16) % 7200)::int END,
       CASE WHEN (n0 >> 25) % 32 <> 0 THEN 1 + (t5 % :n_addr)::int END,
       CASE WHEN n1 % 32 <> 0 THEN 1 + ((t2 >> 20) % 12)::int END,
       CASE WHEN (n1 >> 5) % 32 <> 0 THEN 1 + ((l1 >> 20) % 300)::int END,
       ticket,
       CASE WHEN (n1 >> 10) % 32 <> 0 THEN qty END,
       CASE WHEN (n1 >> 15) % 32 <> 0 THEN wc * 0.01 END,
       CASE WHEN (n1 >> 20) % 32 <> 0 THEN lp * 0.01 END,
       CASE WHEN (n1 >> 25) % 32 <> 0 THEN sp * 0.01 END,
       CASE WHEN n2 % 32 <> 0 THEN (lp - sp) * qty * 0.01 END,
       CASE WHEN (n2 >> 5) % 32 <> 0 THEN sp * qty * 0.01 END,
       CASE WHEN (n2 >> 10) % 32 <> 0 THEN wc * qty * 0.01 END,
       CASE WHEN (n2 >> 15) % 32 <> 0 THEN lp * qty * 0.01 END,
       CASE WHEN (n2 >> 20) % 32 <> 0 THEN sp * qty * taxp / 100 * 0.01 END,
       CASE WHEN (n2 >> 25) % 32 <> 0 THEN coupon * 0.01 END,
       CASE WHEN n3 % 32 <> 0 THEN (sp * qty - coupon) * 0.01 END,
       CASE WHEN (n3 >> 5) % 32 <> 0 THEN (sp * qty - coupon + sp * qty * taxp / 100) * 0.01 END,
       CASE WHEN (n3 >> 10) % 32 <> 0 THEN (sp * qty - coupon - wc * qty) * 0.01 END
FROM (SELECT *, CASE WHEN (l1 >> 8) % 10 = 0 THEN sp * qty * ((l1 >> 12) % 100) / 100 ELSE 0 END AS coupon
      FROM (SELECT *, lp * (100 - (l3 >> 8) % 101) / 100 AS sp
            FROM (SELECT *, wc * (100 + l3 % 201) / 100 AS lp
                  FROM (SELECT i, ticket, item,
                               pg2md_gen.h(ticket, 2001) AS t1, pg2md_gen.h(ticket, 2002) AS t2,
                               pg2md_gen.h(ticket, 2003) AS t3, pg2md_gen.h(ticket, 2004) AS t4,
                               pg2md_gen.h(ticket, 2005) AS t5,
                               l1, l2, l3, n0, n1, n2, n3,
                               1 + l1 % 100 AS qty, 100 + l2 % 9901 AS wc, (l2 >> 16) % 10 AS taxp
                        FROM (SELECT i, t AS ticket,
                                     1 + (pg2md_gen.h(t, 2000) + (i % :l_ss) * (:n_item / :l_ss)) % :n_item AS item,
                                     pg2md_gen.h(i, 2010) AS l1, pg2md_gen.h(i, 2011) AS l2, pg2md_gen.h(i, 2012) AS l3,
                                     pg2md_gen.h(i, 2020) AS n0, pg2md_gen.h(i, 2021) AS n1,
                                     pg2md_gen.h(i, 2022) AS n2, pg2md_gen.h(i, 2023) AS n3
                              FROM (SELECT i, i / :l_ss + 1 AS t FROM generate_series(0, :n_ss - 1) i) g0 OFFSET 0) g1
                        OFFSET 0) g2) g3) g4) g5;

INSERT INTO my_pg.store_returns
SELECT CASE WHEN n0 % 32 <> 0 THEN ss_sold_date_sk + 1 + (r1 % 90)::int END,
       CASE WHEN (n0 >> 5) % 32 <> 0 THEN 28800 + ((r1 >> 7) % 50400)::int END,
       ss_item_sk,
       CASE WHEN (n0 >> 10) % 32 <> 0 THEN ss_customer_sk END,
       CASE WHEN (n0 >> 15) % 32 <> 0 THEN ss_cdemo_sk END,
       CASE WHEN (n0 >> 20) % 32 <> 0 THEN ss_hdemo_sk END,
       CASE WHEN (n0 >> 25) % 32 <> 0 THEN ss_addr_sk END,
       CASE WHEN n1 % 32 <> 0 THEN ss_store_sk END,
       CASE WHEN (n1 >> 5) % 32 <> 0 THEN 1 + (r2 % 35)::int END,
       ss_ticket_number,
       CASE WHEN (n1 >> 10) % 32 <> 0 THEN rq END,
       CASE WHEN (n1 >> 15) % 32 <> 0 THEN amt END,
       CASE WHEN (n1 >> 20) % 32 <> 0 THEN tax END,
       CASE WHEN (n1 >> 25) % 32 <> 0 THEN amt + tax END,
       CASE WHEN n2 % 32 <> 0 THEN fee END,
       CASE WHEN (n2 >> 5) % 32 <> 0 THEN ship END,
       CASE WHEN (n2 >> 10) % 32 <> 0 THEN cash END,
       CASE WHEN (n2 >> 15) % 32 <> 0 THEN rev END,
       CASE WHEN (n2 >> 20) % 32 <> 0 THEN amt - cash - rev END,
       CASE WHEN (n2 >> 25) % 32 <> 0 THEN amt + tax + fee + ship - cash END
FROM (SELECT *, round((amt - cash) * ((r3 >> 8) % 101) / 100, 2) AS rev
      FROM (SELECT *, round(amt * (r3 % 101) / 100, 2) AS cash
            FROM (SELECT *, ss_sales_price * rq AS amt,
                            round(ss_sales_price * rq * ((r2 >> 8) % 10) / 100, 2) AS tax,
                            0.50 + ((r2 >> 12) % 9951) * 0.01 AS fee,
                            round(ss_list_price * rq * ((r2 >> 24) % 50) / 100, 2) AS ship
                  FROM (SELECT ss.*, 1 + r1 % coalesce(ss_quantity, 100) AS rq
                        FROM (SELECT ss.*, pg2md_gen.h(k, 2101) AS r1, pg2md_gen.h(k, 2102) AS r2,
                                     pg2md_gen.h(k, 2103) AS r3, pg2md_gen.h(k, 2110) AS n0,
                                     pg2md_gen.h(k, 2111) AS n1, pg2md_gen.h(k, 2112) AS n2
                              FROM (SELECT ss.*, ss_ticket_number::bigint * 1000003 + ss_item_sk AS k
                                    FROM my_pg.store_sales ss) ss
                              WHERE pg2md_gen.h(k, 2100) % 10 = 0) ss
                        OFFSET 0) g1) g2) g3) g4;
\endif

\if :{?part_catalog}
INSERT INTO my_pg.catalog_sales
SELECT CASE WHEN n0 % 32 <> 0 THEN sold END,
       CASE WHEN (n0 >> 5) % 32 <> 0 THEN (t2 % 86400)::int END,
       CASE WHEN (n0 >> 10) % 32 <> 0 THEN sold + 2 + ((t2 >> 17) % 89)::int END,
       CASE WHEN (n0 >> 15) % 32 <> 0 THEN bill_c END,
       CASE WHEN (n0 >> 20) % 32 <> 0 THEN bill_cd END,
       CASE WHEN (n0 >> 25) % 32 <> 0 THEN bill_hd END,
       CASE WHEN n1 % 32 <> 0 THEN bill_a END,
       CASE WHEN (n1 >> 5) % 32 <> 0 THEN CASE WHEN same THEN bill_c ELSE 1 + (t6 % :n_cust)::int END END,
       CASE WHEN (n1 >> 10) % 32 <> 0 THEN CASE WHEN same THEN bill_cd ELSE 1 + ((t6 >> 3) % :n_cdemo)::int END END,
       CASE WHEN (n1 >> 15) % 32 <> 0 THEN CASE WHEN same THEN bill_hd ELSE 1 + ((t6 >> 5) % 7200)::int END END,
       CASE WHEN (n1 >> 20) % 32 <> 0 THEN CASE WHEN same THEN bill_a ELSE 1 + ((t6 >> 7) % :n_addr)::int END END,
       CASE WHEN (n1 >> 25) % 32 <> 0 THEN 1 + ((t1 >> 12) % 6)::int END,
       CASE WHEN n2 % 32 <> 0 THEN 1 + (l4 % 11718)::int END,
       CASE WHEN (n2 >> 5) % 32 <> 0 THEN 1 + ((t1 >> 16) % 20)::int END,
       CASE WHEN (n2 >> 10) % 32 <> 0 THEN 1 + ((l4 >> 16) % 5)::int END,
       item,
       CASE WHEN (n2 >> 15) % 32 <> 0 THEN 1 + ((l1 >> 20) % 300)::int END,
       ordno,
       CASE WHEN (n2 >> 20) % 32 <> 0 THEN qty END,
       CASE WHEN (n2 >> 25) % 32 <> 0 THEN wc * 0.01 END,
       CASE WHEN n3 % 32 <> 0 THEN lp * 0.01 END,
       CASE WHEN (n3 >> 5) % 32 <> 0 THEN sp * 0.01 END,
       CASE WHEN (n3 >> 10) % 32 <> 0 THEN (lp - sp) * qty * 0.01 END,
       CASE WHEN (n3 >> 15) % 32 <> 0 THEN sp * qty * 0.01 END,
       CASE WHEN (n3 >> 20) % 32 <> 0 THEN wc * qty * 0.01 END,
       CASE WHEN (n3 >> 25) % 32 <> 0 THEN lp * qty * 0.01 END,
       CASE WHEN n4 % 32 <> 0 THEN tax * 0.01 END,
       CASE WHEN (n4 >> 5) % 32 <> 0 THEN coupon * 0.01 END,
       CASE WHEN (n4 >> 10) % 32 <> 0 THEN ship * 0.01 END,
       CASE WHEN (n4 >> 15) % 32 <> 0 THEN (sp * qty - coupon) * 0.01 END,
       CASE WHEN (n4 >> 20) % 32 <> 0 THEN (sp * qty - coupon + tax) * 0.01 END,
       CASE WHEN (n4 >> 25) % 32 <> 0 THEN (sp * qty - coupon + ship) * 0.01 END,
       CASE WHEN n5 % 32 <> 0 THEN (sp * qty - coupon + ship + tax) * 0.01 END,
       CASE WHEN (n5 >> 5) % 32 <> 0 THEN (sp * qty - coupon - wc * qty) * 0.01 END
FROM (SELECT *, CASE WHEN (l1 >> 8) % 10 = 0 THEN sp * qty * ((l1 >> 12) % 100) / 100 ELSE 0 END AS coupon,
                sp * qty * taxp / 100 AS tax, lp * qty * ((l3 >> 20) % 50) / 100 AS ship
      FROM (SELECT *, lp * (100 - (l3 >> 8) % 101) / 100 AS sp
            FROM (SELECT *, wc * (100 + l3 % 201) / 100 AS lp
                  FROM (SELECT i, ordno, item,
                               2450816 + (t1 % 1823)::int AS sold,
                               1 + (t3 % :n_cust)::int AS bill_c, 1 + (t4 % :n_cdemo)::int AS bill_cd,
                               1 + ((t5 >> 16) % 7200)::int AS bill_hd, 1 + (t5 % :n_addr)::int AS bill_a,
                               (t1 >> 24) % 10 <> 0 AS same,
                               t1, t2, t6, l1, l2, l3, l4, n0, n1, n2, n3, n4, n5,
                               1 + l1 % 100 AS qty, 100 + l2 % 9901 AS wc, (l2 >> 16) % 10 AS taxp
                        FROM (SELECT i, o AS ordno,
                                     1 + (pg2md_gen.h(o, 3000) + (i % :l_cs) * (:n_item / :l_cs)) % :n_item AS item,
                                     pg2md_gen.h(o, 3001) AS t1, pg2md_gen.h(o, 3002) AS t2,
                                     pg2md_gen.h(o, 3003) AS t3, pg2md_gen.h(o, 3004) AS t4,
                                     pg2md_gen.h(o, 3005) AS t5, pg2md_gen.h(o, 3006) AS t6,
                                     pg2md_gen.h(i, 3010) AS l1, pg2md_gen.h(i, 3011) AS l2,
                                     pg2md_gen.h(i, 3012) AS l3, pg2md_gen.h(i, 3013) AS l4,
                                     pg2md_gen.h(i, 3020) AS n0, pg2md_gen.h(i, 3021) AS n1,
                                     pg2md_gen.h(i, 3022) AS n2, pg2md_gen.h(i, 3023) AS n3,
                                     pg2md_gen.h(i, 3024) AS n4, pg2md_gen.h(i, 3025) AS n5
                              FROM (SELECT i, i / :l_cs + 1 AS o FROM generate_series(0, :n_cs - 1) i) g0 OFFSET 0) g1
                        OFFSET 0) g2) g3) g4) g5;

INSERT INTO my_pg.catalog_returns
SELECT CASE WHEN n0 % 32 <> 0 THEN cs_ship_date_sk + 1 + (r1 % 60)::int END,
       CASE WHEN (n0 >> 5) % 32 <> 0 THEN ((r1 >> 7) % 86400)::int END,
       cs_item_sk,
       CASE WHEN (n0 >> 10) % 32 <> 0 THEN cs_bill_customer_sk END,
       CASE WHEN (n0 >> 15) % 32 <> 0 THEN cs_bill_cdemo_sk END,
       CASE WHEN (n0 >> 20) % 32 <> 0 THEN cs_bill_hdemo_sk END,
       CASE WHEN (n0 >> 25) % 32 <> 0 THEN cs_bill_addr_sk END,
       CASE WHEN n1 % 32 <> 0 THEN cs_ship_customer_sk END,
       CASE WHEN (n1 >> 5) % 32 <> 0 THEN cs_ship_cdemo_sk END,
       CASE WHEN (n1 >> 10) % 32 <> 0 THEN cs_ship_hdemo_sk END,
       CASE WHEN (n1 >> 15) % 32 <> 0 THEN cs_ship_addr_sk END,
       CASE WHEN (n1 >> 20) % 32 <> 0 THEN cs_call_center_sk END,
       CASE WHEN (n1 >> 25) % 32 <> 0 THEN cs_catalog_page_sk END,
       CASE WHEN n2 % 32 <> 0 THEN cs_ship_mode_sk END,
       CASE WHEN (n2 >> 5) % 32 <> 0 THEN cs_warehouse_sk END,
       CASE WHEN (n2 >> 10) % 32 <> 0 THEN 1 + (r2 % 35)::int END,
       cs_order_number,
       CASE WHEN (n2 >> 15) % 32 <> 0 THEN rq END,
       CASE WHEN (n2 >> 20) % 32 <> 0 THEN amt END,
       CASE WHEN (n2 >> 25) % 32 <> 0 THEN tax END,
       CASE WHEN n3 % 32 <> 0 THEN amt + tax END,
       CASE WHEN (n3 >> 5) % 32 <> 0 THEN fee END,
       CASE WHEN (n3 >> 10) % 32 <> 0 THEN ship END,
       CASE WHEN (n3 >> 15) % 32 <> 0 THEN cash END,
       CASE WHEN (n3 >> 20) % 32 <> 0 THEN rev END,
       CASE WHEN (n3 >> 25) % 32 <> 0 THEN amt - cash - rev END,
       CASE WHEN n4 % 32 <> 0 THEN amt + tax + fee + ship - cash END
FROM (SELECT *, round((amt - cash) * ((r3 >> 8) % 101) / 100, 2) AS rev
      FROM (SELECT *, round(amt * (r3 % 101) / 100, 2) AS cash
            FROM (SELECT *, cs_sales_price * rq AS amt,
                            round(cs_sales_price * rq * ((r2 >> 8) % 10) / 100, 2) AS tax,
                            0.50 + ((r2 >> 12) % 9951) * 0.01 AS fee,
                            round(cs_list_price * rq * ((r2 >> 24) % 50) / 100, 2) AS ship
                  FROM (SELECT cs.*, 1 + r1 % coalesce(cs_quantity, 100) AS rq
                        FROM (SELECT cs.*, pg2md_gen.h(k, 3101) AS r1, pg2md_gen.h(k, 3102) AS r2,
                                     pg2md_gen.h(k, 3103) AS r3, pg2md_gen.h(k, 3110) AS n0,
                                     pg2md_gen.h(k, 3111) AS n1, pg2md_gen.h(k, 3112) AS n2,
                                     pg2md_gen.h(k, 3113) AS n3, pg2md_gen.h(k, 3114) AS n4
                              FROM (SELECT cs.*, cs_order_number::bigint * 1000003 + cs_item_sk AS k
                                    FROM my_pg.catalog_sales cs) cs
                              WHERE pg2md_gen.h(k, 3100) % 10 = 0) cs
                        OFFSET 0) g1) g2) g3) g4;
\endif

\if :{?part_web}
INSERT INTO my_pg.web_sales
SELECT CASE WHEN n0 % 32 <> 0 THEN sold END,
       CASE WHEN (n0 >> 5) % 32 <> 0 THEN (t2 % 86400)::int END,
       CASE WHEN (n0 >> 10) % 32 <> 0 THEN sold + 1 + ((t2 >> 17) % 120)::int END,
       item,
       CASE WHEN (n0 >> 15) % 32 <> 0 THEN bill_c END,
       CASE WHEN (n0 >> 20) % 32 <> 0 THEN bill_cd END,
       CASE WHEN (n0 >> 25) % 32 <> 0 THEN bill_hd END,
       CASE WHEN n1 % 32 <> 0 THEN bill_a END,
       CASE WHEN (n1 >> 5) % 32 <> 0 THEN CASE WHEN same THEN bill_c ELSE 1 + (t6 % :n_cust)::int END END,
       CASE WHEN (n1 >> 10) % 32 <> 0 THEN CASE WHEN same THEN bill_cd ELSE 1 + ((t6 >> 3) % :n_cdemo)::int END END,
       CASE WHEN (n1 >> 15) % 32 <> 0 THEN CASE WHEN same THEN bill_hd ELSE 1 + ((t6 >> 5) % 7200)::int END END,
       CASE WHEN (n1 >> 20) % 32 <> 0 THEN CASE WHEN same THEN bill_a ELSE 1 + ((t6 >> 7) % :n_addr)::int END END,
       CASE WHEN (n1 >> 25) % 32 <> 0 THEN 1 + (l4 % 60)::int END,
       CASE WHEN n2 % 32 <> 0 THEN 1 + ((t1 >> 12) % 30)::int END,
       CASE WHEN (n2 >> 5) % 32 <> 0 THEN 1 + ((t1 >> 16) % 20)::int END,
       CASE WHEN (n2 >> 10) % 32 <> 0 THEN 1 + ((l4 >> 16) % 5)::int END,
       CASE WHEN (n2 >> 15) % 32 <> 0 THEN 1 + ((l1 >> 20) % 300)::int END,
       ordno,
       CASE WHEN (n2 >> 20) % 32 <> 0 THEN qty END,
       CASE WHEN (n2 >> 25) % 32 <> 0 THEN wc * 0.01 END,
       CASE WHEN n3 % 32 <> 0 THEN lp * 0.01 END,
       CASE WHEN (n3 >> 5) % 32 <> 0 THEN sp * 0.01 END,
       CASE WHEN (n3 >> 10) % 32 <> 0 THEN (lp - sp) * qty * 0.01 END,
       CASE WHEN (n3 >> 15) % 32 <> 0 THEN sp * qty * 0.01 END,
       CASE WHEN (n3 >> 20) % 32 <> 0 THEN wc * qty * 0.01 END,
       CASE WHEN (n3 >> 25) % 32 <> 0 THEN lp * qty * 0.01 END,
       CASE WHEN n4 % 32 <> 0 THEN tax * 0.01 END,
       CASE WHEN (n4 >> 5) % 32 <> 0 THEN coupon * 0.01 END,
       CASE WHEN (n4 >> 10) % 32 <> 0 THEN ship * 0.01 END,
       CASE WHEN (n4 >> 15) % 32 <> 0 THEN (sp * qty - coupon) * 0.01 END,
       CASE WHEN (n4 >> 20) % 32 <> 0 THEN (sp * qty - coupon + tax) * 0.01 END,
       CASE WHEN (n4 >> 25) % 32 <> 0 THEN (sp * qty - coupon + ship) * 0.01 END,
       CASE WHEN n5 % 32 <> 0 THEN (sp * qty - coupon + ship + tax) * 0.01 END,
       CASE WHEN (n5 >> 5) % 32 <> 0 THEN (sp * qty - coupon - wc * qty) * 0.01 END
FROM (SELECT *, CASE WHEN (l1 >> 8) % 10 = 0 THEN sp * qty * ((l1 >> 12) % 100) / 100 ELSE 0 END AS coupon,
                sp * qty * taxp / 100 AS tax, lp * qty * ((l3 >> 20) % 50) / 100 AS ship
      FROM (SELECT *, lp * (100 - (l3 >> 8) % 101) / 100 AS sp
            FROM (SELECT *, wc * (100 + l3 % 201) / 100 AS lp
                  FROM (SELECT i, ordno, item,
                               2450816 + (t1 % 1823)::int AS sold,
                               1 + (t3 % :n_cust)::int AS bill_c, 1 + (t4 % :n_cdemo)::int AS bill_cd,
                               1 + ((t5 >> 16) % 7200)::int AS bill_hd, 1 + (t5 % :n_addr)::int AS bill_a,
                               (t1 >> 24) % 10 <> 0 AS same,
                               t1, t2, t6, l1, l2, l3, l4, n0, n1, n2, n3, n4, n5,
                               1 + l1 % 100 AS qty, 100 + l2 % 9901 AS wc, (l2 >> 16) % 10 AS taxp
                        FROM (SELECT i, o AS ordno,
                                     1 + (pg2md_gen.h(o, 4000) + (i % :l_ws) * (:n_item / :l_ws)) % :n_item AS item,
                                     pg2md_gen.h(o, 4001) AS t1, pg2md_gen.h(o, 4002) AS t2,
                                     pg2md_gen.h(o, 4003) AS t3, pg2md_gen.h(o, 4004) AS t4,
                                     pg2md_gen.h(o, 4005) AS t5, pg2md_gen.h(o, 4006) AS t6,
                                     pg2md_gen.h(i, 4010) AS l1, pg2md_gen.h(i, 4011) AS l2,
                                     pg2md_gen.h(i, 4012) AS l3, pg2md_gen.h(i, 4013) AS l4,
                                     pg2md_gen.h(i, 4020) AS n0, pg2md_gen.h(i, 4021) AS n1,
                                     pg2md_gen.h(i, 4022) AS n2, pg2md_gen.h(i, 4023) AS n3,
                                     pg2md_gen.h(i, 4024) AS n4, pg2md_gen.h(i, 4025) AS n5
                              FROM (SELECT i, i / :l_ws + 1 AS o FROM generate_series(0, :n_ws - 1) i) g0 OFFSET 0) g1
                        OFFSET 0) g2) g3) g4) g5;

INSERT INTO my_pg.web_returns
SELECT CASE WHEN n0 % 32 <> 0 THEN ws_ship_date_sk + 1 + (r1 % 60)::int END,
       CASE WHEN (n0 >> 5) % 32 <> 0 THEN ((r1 >> 7) % 86400)::int END,
       ws_item_sk,
       CASE WHEN (n0 >> 10) % 32 <> 0 THEN ws_bill_customer_sk END,
       CASE WHEN (n0 >> 15) % 32 <> 0 THEN ws_bill_cdemo_sk END,
       CASE WHEN (n0 >> 20) % 32 <> 0 THEN ws_bill_hdemo_sk END,
       CASE WHEN (n0 >> 25) % 32 <> 0 THEN ws_bill_addr_sk END,
       CASE WHEN n1 % 32 <> 0 THEN ws_ship_customer_sk END,
       CASE WHEN (n1 >> 5) % 32 <> 0 THEN ws_ship_cdemo_sk END,
       CASE WHEN (n1 >> 10) % 32 <> 0 THEN ws_ship_hdemo_sk END,
       CASE WHEN (n1 >> 15) % 32 <> 0 THEN ws_ship_addr_sk END,
       CASE WHEN (n1 >> 20) % 32 <> 0 THEN ws_web_page_sk END,
       CASE WHEN (n1 >> 25) % 32 <> 0 THEN 1 + (r2 % 35)::int END,
       ws_order_number,
       CASE WHEN n2 % 32 <> 0 THEN rq END,
       CASE WHEN (n2 >> 5) % 32 <> 0 THEN amt END,
       CASE WHEN (n2 >> 10) % 32 <> 0 THEN tax END,
       CASE WHEN (n2 >> 15) % 32 <> 0 THEN amt + tax END,
       CASE WHEN (n2 >> 20) % 32 <> 0 THEN fee END,
       CASE WHEN (n2 >> 25) % 32 <> 0 THEN ship END,
       CASE WHEN n3 % 32 <> 0 THEN cash END,
       CASE WHEN (n3 >> 5) % 32 <> 0 THEN rev END,
       CASE WHEN (n3 >> 10) % 32 <> 0 THEN amt - cash - rev END,
       CASE WHEN (n3 >> 15) % 32 <> 0 THEN amt + tax + fee + ship - cash END
FROM (SELECT *, round((amt - cash) * ((r3 >> 8) % 101) / 100, 2) AS rev
      FROM (SELECT *, round(amt * (r3 % 101) / 100, 2) AS cash
            FROM (SELECT *, ws_sales_price * rq AS amt,
                            round(ws_sales_price * rq * ((r2 >> 8) % 10) / 100, 2) AS tax,
                            0.50 + ((r2 >> 12) % 9951) * 0.01 AS fee,
                            round(ws_list_price * rq * ((r2 >> 24) % 50) / 100, 2) AS ship
                  FROM (SELECT ws.*, 1 + r1 % coalesce(ws_quantity, 100) AS rq
                        FROM (SELECT ws.*, pg2md_gen.h(k, 4101) AS r1, pg2md_gen.h(k, 4102) AS r2,
                                     pg2md_gen.h(k, 4103) AS r3, pg2md_gen.h(k, 4110) AS n0,
                                     pg2md_gen.h(k, 4111) AS n1, pg2md_gen.h(k, 4112) AS n2,
                                     pg2md_gen.h(k, 4113) AS n3
                              FROM (SELECT ws.*, ws_order_number::bigint * 1000003 + ws_item_sk AS k
                                    FROM my_pg.web_sales ws) ws
                              WHERE pg2md_gen.h(k, 4100) % 10 = 0) ws
                        OFFSET 0) g1) g2) g3) g4;
\endif

---------------------------------------------------------------------------------------------
-- finish: primary key (built after loading), then VACUUM FREEZE ANALYZE so that the first
-- reader of the table (the benchmark) does not pay for setting hint bits.
\if :{?part_finish}
SET maintenance_work_mem = '512MB';
SELECT CASE :'table'
    WHEN 'customer_address'       THEN 'ca_address_sk'
    WHEN 'customer_demographics'  THEN 'cd_demo_sk'
    WHEN 'date_dim'               THEN 'd_date_sk'
    WHEN 'warehouse'              THEN 'w_warehouse_sk'
    WHEN 'ship_mode'              THEN 'sm_ship_mode_sk'
    WHEN 'time_dim'               THEN 't_time_sk'
    WHEN 'reason'                 THEN 'r_reason_sk'
    WHEN 'income_band'            THEN 'ib_income_band_sk'
    WHEN 'item'                   THEN 'i_item_sk'
    WHEN 'store'                  THEN 's_store_sk'
    WHEN 'call_center'            THEN 'cc_call_center_sk'
    WHEN 'customer'               THEN 'c_customer_sk'
    WHEN 'web_site'               THEN 'web_site_sk'
    WHEN 'store_returns'          THEN 'sr_item_sk, sr_ticket_number'
    WHEN 'household_demographics' THEN 'hd_demo_sk'
    WHEN 'web_page'               THEN 'wp_web_page_sk'
    WHEN 'promotion'              THEN 'p_promo_sk'
    WHEN 'catalog_page'           THEN 'cp_catalog_page_sk'
    WHEN 'inventory'              THEN 'inv_date_sk, inv_item_sk, inv_warehouse_sk'
    WHEN 'catalog_returns'        THEN 'cr_item_sk, cr_order_number'
    WHEN 'web_returns'            THEN 'wr_item_sk, wr_order_number'
    WHEN 'web_sales'              THEN 'ws_item_sk, ws_order_number'
    WHEN 'catalog_sales'          THEN 'cs_item_sk, cs_order_number'
    WHEN 'store_sales'            THEN 'ss_item_sk, ss_ticket_number'
  END AS pk_cols \gset
ALTER TABLE my_pg.:"table" ADD PRIMARY KEY (:pk_cols);
VACUUM (FREEZE, ANALYZE) my_pg.:"table";
\endif

\if :{?part_cleanup}
DROP SCHEMA pg2md_gen CASCADE;
\endif
