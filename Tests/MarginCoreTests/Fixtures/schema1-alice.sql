-- A schema-1 store made by margin at commit 2f176ad (the release before schema 2), as `sqlite3 .dump` wrote it:
-- alice and bob coded Samples/reports/03-tongren-grid.txt, then edited one value concurrently and bob edited
-- two fields of an annotation alice deleted (two conflicts under schema 1); bob resolved one with --keep other.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
INSERT INTO meta VALUES('clock_ctr',2);
INSERT INTO meta VALUES('clock_ms',1795551767022);
INSERT INTO meta VALUES('created_ms',1795551765757);
INSERT INTO meta VALUES('node_id','2ed032992d60da8c');
INSERT INTO meta VALUES('node_name','alice');
CREATE TABLE changes(
    origin TEXT NOT NULL, seq INTEGER NOT NULL,
    ms INTEGER NOT NULL, ctr INTEGER NOT NULL,
    kind TEXT NOT NULL, entity TEXT NOT NULL, field TEXT NOT NULL, value,
    sup_origin TEXT, sup_seq INTEGER,
    del_origin TEXT, del_seq INTEGER,
    seen TEXT,
    PRIMARY KEY(origin, seq)) WITHOUT ROWID;
INSERT INTO changes VALUES('2ed032992d60da8c',1,1795551765783,0,'code','ebd6d2a50a55d485','name','mobilisation',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',2,1795551765784,0,'code','ebd6d2a50a55d485','description','Who was mobilised for epidemic prevention',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',3,1795551765784,1,'code','ebd6d2a50a55d485','colour','red',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',4,1795551765784,2,'code','da591c591bdc9edd','name','party-members',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',5,1795551765784,3,'code','da591c591bdc9edd','description','Number of Party members mobilised (value: the figure)',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',6,1795551765784,4,'code','da591c591bdc9edd','colour','red',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',7,1795551765784,5,'code','da591c591bdc9edd','parent','ebd6d2a50a55d485',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',8,1795551765784,6,'code','5dee89af7c3d000f','name','cadres',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',9,1795551765784,7,'code','5dee89af7c3d000f','description','Number of officials or cadres deployed (value: the figure)',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',10,1795551765784,8,'code','5dee89af7c3d000f','colour','magenta',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',11,1795551765784,9,'code','5dee89af7c3d000f','parent','ebd6d2a50a55d485',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',12,1795551765784,10,'code','2e09ec97cf4cb204','name','medical-staff',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',13,1795551765784,11,'code','2e09ec97cf4cb204','description','Number of medical workers deployed (value: the figure)',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',14,1795551765784,12,'code','2e09ec97cf4cb204','colour','cyan',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',15,1795551765784,13,'code','2e09ec97cf4cb204','parent','ebd6d2a50a55d485',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',16,1795551765789,0,'code','3c8189dee388e6cd','name','volunteers',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',17,1795551765789,1,'code','3c8189dee388e6cd','description','Volunteers or volunteer teams (value: the figure)',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',18,1795551765789,2,'code','3c8189dee388e6cd','colour','green',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',19,1795551765789,3,'code','3c8189dee388e6cd','parent','ebd6d2a50a55d485',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',20,1795551765789,4,'code','1f170f167c71a95f','name','organisation',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',21,1795551765789,5,'code','1f170f167c71a95f','description','Organisational measures',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',22,1795551765789,6,'code','1f170f167c71a95f','colour','blue',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',23,1795551765789,7,'code','e8bec408b8f2f102','name','temporary-branch',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',24,1795551765789,8,'code','e8bec408b8f2f102','description','Temporary Party branches set up (value: the number)',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',25,1795551765789,9,'code','e8bec408b8f2f102','colour','blue',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',26,1795551765789,10,'code','e8bec408b8f2f102','parent','1f170f167c71a95f',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',27,1795551765789,11,'code','2b1439f41852619c','name','grid-management',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',28,1795551765789,12,'code','2b1439f41852619c','description','Grid management of households and villages',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',29,1795551765789,13,'code','2b1439f41852619c','colour','purple',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',30,1795551765789,14,'code','2b1439f41852619c','parent','1f170f167c71a95f',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',31,1795551765789,15,'code','e0c288ec850c814b','name','checkpoints',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',32,1795551765789,16,'code','e0c288ec850c814b','description','Traffic checkpoints and inspections (value: the figure)',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',33,1795551765789,17,'code','e0c288ec850c814b','colour','yellow',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',34,1795551765789,18,'code','e0c288ec850c814b','parent','1f170f167c71a95f',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',35,1795551765790,0,'code','268fb5f758b4471c','name','supplies',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',36,1795551765790,1,'code','268fb5f758b4471c','description','Material supplies and donations (value: amount or quantity)',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',37,1795551765790,2,'code','268fb5f758b4471c','colour','orange',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',38,1795551765790,3,'code','5ea4cbb2fd45b316','name','publicity',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',39,1795551765790,4,'code','5ea4cbb2fd45b316','description','Publicity and persuasion work',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',40,1795551765790,5,'code','5ea4cbb2fd45b316','colour','grey',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',41,1795551765804,0,'record','3ef4d40e9227cc8ca25f9f369abb5a5b','body',replace('今年以来,同仁县坚持党建引领基层治理,把全县划分为156个网格,选派1055名网格员包户到人,做到排查、宣传、服务“三个到位”,形成了横向到边、纵向到底的防控网络。\n\n网格员们白天入户走访,晚上整理台账,全面掌握返乡人员、重点人群和独居老人等信息。截至11月初,共排查外来人员4300余人次,发放宣传资料2.6万份,帮助群众代购药品和生活物资800余次。\n\n隆务镇一位网格员说:“网格虽小,连着千家万户。”在疫情防控中,全县有72个村8个社区的党组织书记带头担任网格长,119名网格员被评为优秀网格员。','\n',char(10)),NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',42,1795551765805,0,'record','3ef4d40e9227cc8ca25f9f369abb5a5b','title','同仁县网格员织密疫情防控“一张网”',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',43,1795551765805,1,'record','3ef4d40e9227cc8ca25f9f369abb5a5b','source','同仁县融媒体中心',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',44,1795551765805,2,'record','3ef4d40e9227cc8ca25f9f369abb5a5b','published','2022-11-07 17:00:37',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',45,1795551765805,3,'record','3ef4d40e9227cc8ca25f9f369abb5a5b','place','同仁县',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',46,1795551765805,4,'record','3ef4d40e9227cc8ca25f9f369abb5a5b','editor','海燕',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',47,1795551765829,0,'annotation','1384ea467deaf08a5044ba250aab3aa3','record','3ef4d40e9227cc8ca25f9f369abb5a5b',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',48,1795551765830,0,'annotation','1384ea467deaf08a5044ba250aab3aa3','code','da591c591bdc9edd',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',49,1795551765830,1,'annotation','1384ea467deaf08a5044ba250aab3aa3','start',39,NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',50,1795551765830,1,'annotation','1384ea467deaf08a5044ba250aab3aa3','end',42,NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',51,1795551765830,1,'annotation','1384ea467deaf08a5044ba250aab3aa3','quote','网格员',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',52,1795551765830,1,'annotation','1384ea467deaf08a5044ba250aab3aa3','prefix','县坚持党建引领基层治理,把全县划分为156个网格,选派1055名',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',53,1795551765830,1,'annotation','1384ea467deaf08a5044ba250aab3aa3','suffix','包户到人,做到排查、宣传、服务“三个到位”,形成了横向到边、纵向',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',54,1795551765830,2,'annotation','1384ea467deaf08a5044ba250aab3aa3','value','5',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',55,1795551765830,3,'annotation','1384ea467deaf08a5044ba250aab3aa3','status','open',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',56,1795551765830,4,'annotation','1384ea467deaf08a5044ba250aab3aa3','author','alice',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',57,1795551765844,0,'annotation','f138abea30ee7007bbc0b7f9282f17f3','record','3ef4d40e9227cc8ca25f9f369abb5a5b',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',58,1795551765845,0,'annotation','f138abea30ee7007bbc0b7f9282f17f3','code','da591c591bdc9edd',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',59,1795551765845,1,'annotation','f138abea30ee7007bbc0b7f9282f17f3','start',84,NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',60,1795551765845,1,'annotation','f138abea30ee7007bbc0b7f9282f17f3','end',87,NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',61,1795551765845,1,'annotation','f138abea30ee7007bbc0b7f9282f17f3','quote','网格员',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',62,1795551765845,1,'annotation','f138abea30ee7007bbc0b7f9282f17f3','prefix',replace('宣传、服务“三个到位”,形成了横向到边、纵向到底的防控网络。\n\n','\n',char(10)),NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',63,1795551765845,1,'annotation','f138abea30ee7007bbc0b7f9282f17f3','suffix','们白天入户走访,晚上整理台账,全面掌握返乡人员、重点人群和独居老',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',64,1795551765845,2,'annotation','f138abea30ee7007bbc0b7f9282f17f3','status','open',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',65,1795551765845,3,'annotation','f138abea30ee7007bbc0b7f9282f17f3','author','alice',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',66,1795551765858,0,'annotation','faffcf7b7ef8287a453de97f48731f79','record','3ef4d40e9227cc8ca25f9f369abb5a5b',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',67,1795551765858,1,'annotation','faffcf7b7ef8287a453de97f48731f79','code','e0c288ec850c814b',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',68,1795551765858,2,'annotation','faffcf7b7ef8287a453de97f48731f79','status','open',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',69,1795551765858,3,'annotation','faffcf7b7ef8287a453de97f48731f79','author','alice',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',70,1795551765869,0,'annotation','1384ea467deaf08a5044ba250aab3aa3','status','accepted','2ed032992d60da8c',55,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',71,1795551765870,0,'annotation','1384ea467deaf08a5044ba250aab3aa3','comment','ok',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',72,1795551765870,1,'annotation','1384ea467deaf08a5044ba250aab3aa3','reviewer','alice',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',73,1795551766967,0,'annotation','1384ea467deaf08a5044ba250aab3aa3','value','8','2ed032992d60da8c',54,NULL,NULL,NULL);
INSERT INTO changes VALUES('2ed032992d60da8c',74,1795551766980,0,'annotation','f138abea30ee7007bbc0b7f9282f17f3','deleted',1,NULL,NULL,NULL,NULL,'2ed032992d60da8c:73');
INSERT INTO changes VALUES('c3073139cbf3f84c',1,1795551766941,0,'annotation','1384ea467deaf08a5044ba250aab3aa3','value','6','2ed032992d60da8c',54,NULL,NULL,NULL);
INSERT INTO changes VALUES('c3073139cbf3f84c',2,1795551766954,0,'annotation','f138abea30ee7007bbc0b7f9282f17f3','value','7',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('c3073139cbf3f84c',3,1795551766954,1,'annotation','f138abea30ee7007bbc0b7f9282f17f3','note','bob''s note',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('c3073139cbf3f84c',4,1795551767022,0,'annotation','f138abea30ee7007bbc0b7f9282f17f3','deleted',0,'2ed032992d60da8c',74,NULL,NULL,'2ed032992d60da8c:74,c3073139cbf3f84c:3');
INSERT INTO changes VALUES('c3073139cbf3f84c',5,1795551767022,1,'conflict','29bc629042cfc898','resolution','other',NULL,NULL,NULL,NULL,NULL);
INSERT INTO changes VALUES('c3073139cbf3f84c',6,1795551767022,2,'conflict','29bc629042cfc898','resolver','bob',NULL,NULL,NULL,NULL,NULL);
CREATE TABLE heads(origin TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO heads VALUES('2ed032992d60da8c',74);
INSERT INTO heads VALUES('c3073139cbf3f84c',6);
CREATE TABLE fields(
    kind TEXT NOT NULL, entity TEXT NOT NULL, field TEXT NOT NULL, value,
    origin TEXT NOT NULL, seq INTEGER NOT NULL, ms INTEGER NOT NULL, ctr INTEGER NOT NULL,
    PRIMARY KEY(kind, entity, field)) WITHOUT ROWID;
INSERT INTO fields VALUES('annotation','1384ea467deaf08a5044ba250aab3aa3','author','alice','2ed032992d60da8c',56,1795551765830,4);
INSERT INTO fields VALUES('annotation','1384ea467deaf08a5044ba250aab3aa3','code','da591c591bdc9edd','2ed032992d60da8c',48,1795551765830,0);
INSERT INTO fields VALUES('annotation','1384ea467deaf08a5044ba250aab3aa3','comment','ok','2ed032992d60da8c',71,1795551765870,0);
INSERT INTO fields VALUES('annotation','1384ea467deaf08a5044ba250aab3aa3','end',42,'2ed032992d60da8c',50,1795551765830,1);
INSERT INTO fields VALUES('annotation','1384ea467deaf08a5044ba250aab3aa3','prefix','县坚持党建引领基层治理,把全县划分为156个网格,选派1055名','2ed032992d60da8c',52,1795551765830,1);
INSERT INTO fields VALUES('annotation','1384ea467deaf08a5044ba250aab3aa3','quote','网格员','2ed032992d60da8c',51,1795551765830,1);
INSERT INTO fields VALUES('annotation','1384ea467deaf08a5044ba250aab3aa3','record','3ef4d40e9227cc8ca25f9f369abb5a5b','2ed032992d60da8c',47,1795551765829,0);
INSERT INTO fields VALUES('annotation','1384ea467deaf08a5044ba250aab3aa3','reviewer','alice','2ed032992d60da8c',72,1795551765870,1);
INSERT INTO fields VALUES('annotation','1384ea467deaf08a5044ba250aab3aa3','start',39,'2ed032992d60da8c',49,1795551765830,1);
INSERT INTO fields VALUES('annotation','1384ea467deaf08a5044ba250aab3aa3','status','accepted','2ed032992d60da8c',70,1795551765869,0);
INSERT INTO fields VALUES('annotation','1384ea467deaf08a5044ba250aab3aa3','suffix','包户到人,做到排查、宣传、服务“三个到位”,形成了横向到边、纵向','2ed032992d60da8c',53,1795551765830,1);
INSERT INTO fields VALUES('annotation','1384ea467deaf08a5044ba250aab3aa3','value','8','2ed032992d60da8c',73,1795551766967,0);
INSERT INTO fields VALUES('annotation','f138abea30ee7007bbc0b7f9282f17f3','author','alice','2ed032992d60da8c',65,1795551765845,3);
INSERT INTO fields VALUES('annotation','f138abea30ee7007bbc0b7f9282f17f3','code','da591c591bdc9edd','2ed032992d60da8c',58,1795551765845,0);
INSERT INTO fields VALUES('annotation','f138abea30ee7007bbc0b7f9282f17f3','deleted',0,'c3073139cbf3f84c',4,1795551767022,0);
INSERT INTO fields VALUES('annotation','f138abea30ee7007bbc0b7f9282f17f3','end',87,'2ed032992d60da8c',60,1795551765845,1);
INSERT INTO fields VALUES('annotation','f138abea30ee7007bbc0b7f9282f17f3','note','bob''s note','c3073139cbf3f84c',3,1795551766954,1);
INSERT INTO fields VALUES('annotation','f138abea30ee7007bbc0b7f9282f17f3','prefix',replace('宣传、服务“三个到位”,形成了横向到边、纵向到底的防控网络。\n\n','\n',char(10)),'2ed032992d60da8c',62,1795551765845,1);
INSERT INTO fields VALUES('annotation','f138abea30ee7007bbc0b7f9282f17f3','quote','网格员','2ed032992d60da8c',61,1795551765845,1);
INSERT INTO fields VALUES('annotation','f138abea30ee7007bbc0b7f9282f17f3','record','3ef4d40e9227cc8ca25f9f369abb5a5b','2ed032992d60da8c',57,1795551765844,0);
INSERT INTO fields VALUES('annotation','f138abea30ee7007bbc0b7f9282f17f3','start',84,'2ed032992d60da8c',59,1795551765845,1);
INSERT INTO fields VALUES('annotation','f138abea30ee7007bbc0b7f9282f17f3','status','open','2ed032992d60da8c',64,1795551765845,2);
INSERT INTO fields VALUES('annotation','f138abea30ee7007bbc0b7f9282f17f3','suffix','们白天入户走访,晚上整理台账,全面掌握返乡人员、重点人群和独居老','2ed032992d60da8c',63,1795551765845,1);
INSERT INTO fields VALUES('annotation','f138abea30ee7007bbc0b7f9282f17f3','value','7','c3073139cbf3f84c',2,1795551766954,0);
INSERT INTO fields VALUES('annotation','faffcf7b7ef8287a453de97f48731f79','author','alice','2ed032992d60da8c',69,1795551765858,3);
INSERT INTO fields VALUES('annotation','faffcf7b7ef8287a453de97f48731f79','code','e0c288ec850c814b','2ed032992d60da8c',67,1795551765858,1);
INSERT INTO fields VALUES('annotation','faffcf7b7ef8287a453de97f48731f79','record','3ef4d40e9227cc8ca25f9f369abb5a5b','2ed032992d60da8c',66,1795551765858,0);
INSERT INTO fields VALUES('annotation','faffcf7b7ef8287a453de97f48731f79','status','open','2ed032992d60da8c',68,1795551765858,2);
INSERT INTO fields VALUES('code','1f170f167c71a95f','colour','blue','2ed032992d60da8c',22,1795551765789,6);
INSERT INTO fields VALUES('code','1f170f167c71a95f','description','Organisational measures','2ed032992d60da8c',21,1795551765789,5);
INSERT INTO fields VALUES('code','1f170f167c71a95f','name','organisation','2ed032992d60da8c',20,1795551765789,4);
INSERT INTO fields VALUES('code','268fb5f758b4471c','colour','orange','2ed032992d60da8c',37,1795551765790,2);
INSERT INTO fields VALUES('code','268fb5f758b4471c','description','Material supplies and donations (value: amount or quantity)','2ed032992d60da8c',36,1795551765790,1);
INSERT INTO fields VALUES('code','268fb5f758b4471c','name','supplies','2ed032992d60da8c',35,1795551765790,0);
INSERT INTO fields VALUES('code','2b1439f41852619c','colour','purple','2ed032992d60da8c',29,1795551765789,13);
INSERT INTO fields VALUES('code','2b1439f41852619c','description','Grid management of households and villages','2ed032992d60da8c',28,1795551765789,12);
INSERT INTO fields VALUES('code','2b1439f41852619c','name','grid-management','2ed032992d60da8c',27,1795551765789,11);
INSERT INTO fields VALUES('code','2b1439f41852619c','parent','1f170f167c71a95f','2ed032992d60da8c',30,1795551765789,14);
INSERT INTO fields VALUES('code','2e09ec97cf4cb204','colour','cyan','2ed032992d60da8c',14,1795551765784,12);
INSERT INTO fields VALUES('code','2e09ec97cf4cb204','description','Number of medical workers deployed (value: the figure)','2ed032992d60da8c',13,1795551765784,11);
INSERT INTO fields VALUES('code','2e09ec97cf4cb204','name','medical-staff','2ed032992d60da8c',12,1795551765784,10);
INSERT INTO fields VALUES('code','2e09ec97cf4cb204','parent','ebd6d2a50a55d485','2ed032992d60da8c',15,1795551765784,13);
INSERT INTO fields VALUES('code','3c8189dee388e6cd','colour','green','2ed032992d60da8c',18,1795551765789,2);
INSERT INTO fields VALUES('code','3c8189dee388e6cd','description','Volunteers or volunteer teams (value: the figure)','2ed032992d60da8c',17,1795551765789,1);
INSERT INTO fields VALUES('code','3c8189dee388e6cd','name','volunteers','2ed032992d60da8c',16,1795551765789,0);
INSERT INTO fields VALUES('code','3c8189dee388e6cd','parent','ebd6d2a50a55d485','2ed032992d60da8c',19,1795551765789,3);
INSERT INTO fields VALUES('code','5dee89af7c3d000f','colour','magenta','2ed032992d60da8c',10,1795551765784,8);
INSERT INTO fields VALUES('code','5dee89af7c3d000f','description','Number of officials or cadres deployed (value: the figure)','2ed032992d60da8c',9,1795551765784,7);
INSERT INTO fields VALUES('code','5dee89af7c3d000f','name','cadres','2ed032992d60da8c',8,1795551765784,6);
INSERT INTO fields VALUES('code','5dee89af7c3d000f','parent','ebd6d2a50a55d485','2ed032992d60da8c',11,1795551765784,9);
INSERT INTO fields VALUES('code','5ea4cbb2fd45b316','colour','grey','2ed032992d60da8c',40,1795551765790,5);
INSERT INTO fields VALUES('code','5ea4cbb2fd45b316','description','Publicity and persuasion work','2ed032992d60da8c',39,1795551765790,4);
INSERT INTO fields VALUES('code','5ea4cbb2fd45b316','name','publicity','2ed032992d60da8c',38,1795551765790,3);
INSERT INTO fields VALUES('code','da591c591bdc9edd','colour','red','2ed032992d60da8c',6,1795551765784,4);
INSERT INTO fields VALUES('code','da591c591bdc9edd','description','Number of Party members mobilised (value: the figure)','2ed032992d60da8c',5,1795551765784,3);
INSERT INTO fields VALUES('code','da591c591bdc9edd','name','party-members','2ed032992d60da8c',4,1795551765784,2);
INSERT INTO fields VALUES('code','da591c591bdc9edd','parent','ebd6d2a50a55d485','2ed032992d60da8c',7,1795551765784,5);
INSERT INTO fields VALUES('code','e0c288ec850c814b','colour','yellow','2ed032992d60da8c',33,1795551765789,17);
INSERT INTO fields VALUES('code','e0c288ec850c814b','description','Traffic checkpoints and inspections (value: the figure)','2ed032992d60da8c',32,1795551765789,16);
INSERT INTO fields VALUES('code','e0c288ec850c814b','name','checkpoints','2ed032992d60da8c',31,1795551765789,15);
INSERT INTO fields VALUES('code','e0c288ec850c814b','parent','1f170f167c71a95f','2ed032992d60da8c',34,1795551765789,18);
INSERT INTO fields VALUES('code','e8bec408b8f2f102','colour','blue','2ed032992d60da8c',25,1795551765789,9);
INSERT INTO fields VALUES('code','e8bec408b8f2f102','description','Temporary Party branches set up (value: the number)','2ed032992d60da8c',24,1795551765789,8);
INSERT INTO fields VALUES('code','e8bec408b8f2f102','name','temporary-branch','2ed032992d60da8c',23,1795551765789,7);
INSERT INTO fields VALUES('code','e8bec408b8f2f102','parent','1f170f167c71a95f','2ed032992d60da8c',26,1795551765789,10);
INSERT INTO fields VALUES('code','ebd6d2a50a55d485','colour','red','2ed032992d60da8c',3,1795551765784,1);
INSERT INTO fields VALUES('code','ebd6d2a50a55d485','description','Who was mobilised for epidemic prevention','2ed032992d60da8c',2,1795551765784,0);
INSERT INTO fields VALUES('code','ebd6d2a50a55d485','name','mobilisation','2ed032992d60da8c',1,1795551765783,0);
INSERT INTO fields VALUES('conflict','29bc629042cfc898','resolution','other','c3073139cbf3f84c',5,1795551767022,1);
INSERT INTO fields VALUES('conflict','29bc629042cfc898','resolver','bob','c3073139cbf3f84c',6,1795551767022,2);
INSERT INTO fields VALUES('record','3ef4d40e9227cc8ca25f9f369abb5a5b','body',replace('今年以来,同仁县坚持党建引领基层治理,把全县划分为156个网格,选派1055名网格员包户到人,做到排查、宣传、服务“三个到位”,形成了横向到边、纵向到底的防控网络。\n\n网格员们白天入户走访,晚上整理台账,全面掌握返乡人员、重点人群和独居老人等信息。截至11月初,共排查外来人员4300余人次,发放宣传资料2.6万份,帮助群众代购药品和生活物资800余次。\n\n隆务镇一位网格员说:“网格虽小,连着千家万户。”在疫情防控中,全县有72个村8个社区的党组织书记带头担任网格长,119名网格员被评为优秀网格员。','\n',char(10)),'2ed032992d60da8c',41,1795551765804,0);
INSERT INTO fields VALUES('record','3ef4d40e9227cc8ca25f9f369abb5a5b','editor','海燕','2ed032992d60da8c',46,1795551765805,4);
INSERT INTO fields VALUES('record','3ef4d40e9227cc8ca25f9f369abb5a5b','place','同仁县','2ed032992d60da8c',45,1795551765805,3);
INSERT INTO fields VALUES('record','3ef4d40e9227cc8ca25f9f369abb5a5b','published','2022-11-07 17:00:37','2ed032992d60da8c',44,1795551765805,2);
INSERT INTO fields VALUES('record','3ef4d40e9227cc8ca25f9f369abb5a5b','source','同仁县融媒体中心','2ed032992d60da8c',43,1795551765805,1);
INSERT INTO fields VALUES('record','3ef4d40e9227cc8ca25f9f369abb5a5b','title','同仁县网格员织密疫情防控“一张网”','2ed032992d60da8c',42,1795551765805,0);
CREATE TABLE records(
    id TEXT PRIMARY KEY, title TEXT, source TEXT, published TEXT, place TEXT, url TEXT,
    author TEXT, editor TEXT, body TEXT, folded TEXT,
    deleted INTEGER NOT NULL DEFAULT 0, ever_deleted INTEGER NOT NULL DEFAULT 0, created_ms INTEGER, updated_ms INTEGER);
INSERT INTO records VALUES('3ef4d40e9227cc8ca25f9f369abb5a5b','同仁县网格员织密疫情防控“一张网”','同仁县融媒体中心','2022-11-07 17:00:37','同仁县',NULL,NULL,'海燕',replace('今年以来,同仁县坚持党建引领基层治理,把全县划分为156个网格,选派1055名网格员包户到人,做到排查、宣传、服务“三个到位”,形成了横向到边、纵向到底的防控网络。\n\n网格员们白天入户走访,晚上整理台账,全面掌握返乡人员、重点人群和独居老人等信息。截至11月初,共排查外来人员4300余人次,发放宣传资料2.6万份,帮助群众代购药品和生活物资800余次。\n\n隆务镇一位网格员说:“网格虽小,连着千家万户。”在疫情防控中,全县有72个村8个社区的党组织书记带头担任网格长,119名网格员被评为优秀网格员。','\n',char(10)),replace('同仁县网格员织密疫情防控“一张网”\n今年以来,同仁县坚持党建引领基层治理,把全县划分为156个网格,选派1055名网格员包户到人,做到排查、宣传、服务“三个到位”,形成了横向到边、纵向到底的防控网络。\n\n网格员们白天入户走访,晚上整理台账,全面掌握返乡人员、重点人群和独居老人等信息。截至11月初,共排查外来人员4300余人次,发放宣传资料2.6万份,帮助群众代购药品和生活物资800余次。\n\n隆务镇一位网格员说:“网格虽小,连着千家万户。”在疫情防控中,全县有72个村8个社区的党组织书记带头担任网格长,119名网格员被评为优秀网格员。','\n',char(10)),0,0,1795551765804,1795551765805);
CREATE TABLE record_meta(
    record TEXT NOT NULL REFERENCES records(id), key TEXT NOT NULL, value TEXT,
    PRIMARY KEY(record, key)) WITHOUT ROWID;
CREATE TABLE annotations(
    id TEXT PRIMARY KEY, record TEXT, code TEXT, span_start INTEGER, span_end INTEGER,
    quote TEXT, prefix TEXT, suffix TEXT, value TEXT, note TEXT, status TEXT, comment TEXT,
    reviewer TEXT, author TEXT,
    deleted INTEGER NOT NULL DEFAULT 0, ever_deleted INTEGER NOT NULL DEFAULT 0, created_ms INTEGER, updated_ms INTEGER);
INSERT INTO annotations VALUES('1384ea467deaf08a5044ba250aab3aa3','3ef4d40e9227cc8ca25f9f369abb5a5b','da591c591bdc9edd',39,42,'网格员','县坚持党建引领基层治理,把全县划分为156个网格,选派1055名','包户到人,做到排查、宣传、服务“三个到位”,形成了横向到边、纵向','8',NULL,'accepted','ok','alice','alice',0,0,1795551765829,1795551766967);
INSERT INTO annotations VALUES('f138abea30ee7007bbc0b7f9282f17f3','3ef4d40e9227cc8ca25f9f369abb5a5b','da591c591bdc9edd',84,87,'网格员',replace('宣传、服务“三个到位”,形成了横向到边、纵向到底的防控网络。\n\n','\n',char(10)),'们白天入户走访,晚上整理台账,全面掌握返乡人员、重点人群和独居老','7','bob''s note','open',NULL,NULL,'alice',0,1,1795551765844,1795551767022);
INSERT INTO annotations VALUES('faffcf7b7ef8287a453de97f48731f79','3ef4d40e9227cc8ca25f9f369abb5a5b','e0c288ec850c814b',NULL,NULL,NULL,NULL,NULL,NULL,NULL,'open',NULL,NULL,'alice',0,0,1795551765858,1795551765858);
CREATE TABLE codes(
    id TEXT PRIMARY KEY, name TEXT, description TEXT, colour TEXT, parent TEXT, merged_into TEXT,
    deleted INTEGER NOT NULL DEFAULT 0, ever_deleted INTEGER NOT NULL DEFAULT 0, created_ms INTEGER, updated_ms INTEGER);
INSERT INTO codes VALUES('ebd6d2a50a55d485','mobilisation','Who was mobilised for epidemic prevention','red',NULL,NULL,0,0,1795551765783,1795551765784);
INSERT INTO codes VALUES('da591c591bdc9edd','party-members','Number of Party members mobilised (value: the figure)','red','ebd6d2a50a55d485',NULL,0,0,1795551765784,1795551765784);
INSERT INTO codes VALUES('5dee89af7c3d000f','cadres','Number of officials or cadres deployed (value: the figure)','magenta','ebd6d2a50a55d485',NULL,0,0,1795551765784,1795551765784);
INSERT INTO codes VALUES('2e09ec97cf4cb204','medical-staff','Number of medical workers deployed (value: the figure)','cyan','ebd6d2a50a55d485',NULL,0,0,1795551765784,1795551765784);
INSERT INTO codes VALUES('3c8189dee388e6cd','volunteers','Volunteers or volunteer teams (value: the figure)','green','ebd6d2a50a55d485',NULL,0,0,1795551765789,1795551765789);
INSERT INTO codes VALUES('1f170f167c71a95f','organisation','Organisational measures','blue',NULL,NULL,0,0,1795551765789,1795551765789);
INSERT INTO codes VALUES('e8bec408b8f2f102','temporary-branch','Temporary Party branches set up (value: the number)','blue','1f170f167c71a95f',NULL,0,0,1795551765789,1795551765789);
INSERT INTO codes VALUES('2b1439f41852619c','grid-management','Grid management of households and villages','purple','1f170f167c71a95f',NULL,0,0,1795551765789,1795551765789);
INSERT INTO codes VALUES('e0c288ec850c814b','checkpoints','Traffic checkpoints and inspections (value: the figure)','yellow','1f170f167c71a95f',NULL,0,0,1795551765789,1795551765789);
INSERT INTO codes VALUES('268fb5f758b4471c','supplies','Material supplies and donations (value: amount or quantity)','orange',NULL,NULL,0,0,1795551765790,1795551765790);
INSERT INTO codes VALUES('5ea4cbb2fd45b316','publicity','Publicity and persuasion work','grey',NULL,NULL,0,0,1795551765790,1795551765790);
CREATE TABLE conflicts(
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, entity TEXT NOT NULL, field TEXT NOT NULL,
    winner_origin TEXT NOT NULL, winner_seq INTEGER NOT NULL,
    loser_origin TEXT NOT NULL, loser_seq INTEGER NOT NULL, ms INTEGER NOT NULL);
INSERT INTO conflicts VALUES('6d33efc1d22e092f','annotation','1384ea467deaf08a5044ba250aab3aa3','value','2ed032992d60da8c',73,'c3073139cbf3f84c',1,1795551766967);
INSERT INTO conflicts VALUES('29bc629042cfc898','annotation','f138abea30ee7007bbc0b7f9282f17f3','deleted','2ed032992d60da8c',74,'c3073139cbf3f84c',2,1795551766980);
INSERT INTO conflicts VALUES('b4492f1ebe455923','annotation','f138abea30ee7007bbc0b7f9282f17f3','deleted','2ed032992d60da8c',74,'c3073139cbf3f84c',3,1795551766980);
CREATE TABLE peers(
    id TEXT PRIMARY KEY, name TEXT, address TEXT, last_sync_ms INTEGER,
    their_vv TEXT, our_vv TEXT) WITHOUT ROWID;
INSERT INTO peers VALUES('c3073139cbf3f84c','bob','127.0.0.1:50994',1795551767035,'2ed032992d60da8c:74,c3073139cbf3f84c:6','2ed032992d60da8c:74,c3073139cbf3f84c:6');
PRAGMA writable_schema=ON;
INSERT INTO sqlite_schema(type,name,tbl_name,rootpage,sql)VALUES('table','record_fts','record_fts',0,'CREATE VIRTUAL TABLE record_fts USING fts5(folded, content=''records'', content_rowid=''rowid'', tokenize=''trigram'')');
CREATE TABLE IF NOT EXISTS 'record_fts_data'(id INTEGER PRIMARY KEY, block BLOB);
INSERT INTO record_fts_data VALUES(1,X'01820b');
INSERT INTO record_fts_data VALUES(10,X'000000000101010001010101');
INSERT INTO record_fts_data VALUES(137438953473,X'00000b9e06300a0ae7bd910102660303e99a86010481450206e4bb8ae5b9b40102130206e7bd91e6a0bc0102670206e99a86e58aa10104814601032c31310104817e0206e5819ae588b0010242030585a8e58ebf010481650503e99da20102790404b1e68e920104811603058f91e694be010481250305908ce4bb810102180305b8aee58aa9010481310305bda2e688900102530206e68a8ae585a80102260305999ae4b88a0102720206e8bf9ee79d80010481560206e98089e6b4be01023301052e36e4b8870104812d01053030e4bd990106812022020235350102370206e4bd99e4baba010481210503e6aca1010481410103313035010236020231390104817f0303e69c88010481120202353601022d020439e5908d010482000206e69c88e5889d010481130103322e360104812c0206e4b8aae69d910104816a01033330300104811f01033433300104811e01053535e5908d010238020436e4b8aa01022e0206e5908de7bd91010239010736e4b887e4bbbd0104812e0404aae7bd9101022f01053732e4b8aa0104816901033830300104813f0206e4b8aae7a4be0104816d010739e5908de7bd910104820101073ae2809ce7bd91010481500109e2809ce4b880e5bca001020e060489e4b8aa01024d0406e7bd91e6a0bc0104815103059d0ae4bb8a01021204042ce5bda20102520406e59ca8e796ab0104815e0109e38081e5aea3e4bca00102470406e69c8de58aa101024a0406e7bab5e5909101025b0406e9878de782b9010481020303820a0a010465610406e2809de59ca80104815d0406e688aae887b30104810f0109e4b880e4bd8de7bd910104814a0406e5bca0e7bd9101020f030587e4bbbd2c0104812f0406e688b7e380820104815b030789e4b8aae588b001024e03078ae695b4e790860102740307aae588b0e4bd8d01024f0404e69d91380104816b0406e7a4bee58cba0104816e0505bd91e6a0bc0102300305ad2ce585a8010481640303ba313501022c0406e4bc98e7a780010482080208b9a1e4babae5919801027f0307a6e8aeb0e5b8a6010481750208ba86e6a8aae590910102560305ba2ce5819a0102410404e59198340104811c0703e38081010481000404e6aca12c010481230406e7ad89e4bfa10104810b0505bea4e5928c010481050208bb81e58ebfe59d9a01021a0703e7bd9101020303078ae5b9b4e4bba50102140307a3e8b4ade88daf010481360305a5e69da52c0102160307ace799bde5a4a901026b0307bbe7bd91e6a0bc0104817a0305bd2ce5b8ae010481300208bc97e4bba3e8b4ad01048135030798e7a780e7bd91010482090307a0e38081e69c8d0102490406e8b584e69699010481290206bd8de2809d2c0102510406e7bd91e6a0bc0104814b030799e4babae6aca1010481220406e6aca1e38082010481420208bfa1e681afe380820104810d0109e5819ae588b0e68e920102430208859ae5bbbae5bc9501021e0406e7bb84e7bb87010481720307a5e688b7e8b5b001026e0307a8e58ebfe588920102280703e69c89010481660406e99da2e68e8c01027a0307b1e68e92e69fa50104811702068886e4b8ba3101022b030792e58886e4b8ba01022a03059d2ce585b1010481150305b0e4baba2c0102400505bd8de2809d0102500406e5ba95e79a8401025e0406e68e92e69fa50102440406e8beb9e3808101025902088aa1e2809ce4b88901024c0406e99587e4b880010481480307a9e7bea4e4bc970104813302088c85e688b7e588b001023e0307bae79a84e5859a0104817002088d83e5aeb6e4b8870104815902088ebfe58892e5888601022905059d9ae68c8101021b0404e69c8937010481670406e7bd91e6a0bc01020402088f91e694bee5aea3010481260305b0e8b4a62c0102770208908ce4bb81e58ebf0104021903078de7bd91e6a0bc01063a814a030791e588b0e5ba9501025d0703e8beb90102580204919834330104811d0406e38081e9878d010481010406e4bbace799bd01026a0406e58c85e688b701023d0406e7bb87e5af860102070406e8a2abe8af84010482050503afb43a0104814e0208928ce78bace5b185010481070505949fe6b4bb0104813a02089381e5928ce7949f0104813902089ca8e796abe683850104815f02089d9ae68c81e5859a01021c02089fbae5b182e6b2bb0102220208a496e69da5e4baba0104811a0307a9e585a5e688b701026d0307b4e68b85e4bbbb010481780208aea3e4bca0e380810102480703e8b584010481280307b6e4b887e688b70104815a0208af86e796abe683850102090206b08f2ce8bf9e010481550208b182e6b2bbe79086010223030785e88081e4baba010481090208b8a6e5a4b4e68b85010481770307aee58aa9e7bea4010481320208b9b4e4bba5e69da50102150208ba95e79a84e998b201025f0208bbbae5bc95e9a28601021f0208bc95e9a286e59fba0102200307a0e7bd91e2809d0102100208bda2e68890e4ba860102540109e681afe38082e688aa0104810e02088385e998b2e68ea701060b815802088890e4ba86e6a8aa0102550305aae887b331010481100307b7e38082e2809d0104815c0406e588b0e4baba01023f0406e8b5b0e8aebf01026f02088a8ae585a8e58ebf01022702088b85e4bbbbe7bd910104817902088c81e5859ae5bbba01021d02088e8ce68fa1e8bf9401027c030792e69fa5e380810102450703e5a496010481180307a7e2809ce4b88001020d0404e4b8ad2c010481630406e7bd91e7bb9c01026202088fa1e8bf94e4b9a101027d020894bee5aea3e4bca001048127020895b4e79086e58fb001027502049699322e0104812b0208999ae4b88ae695b401027302069c88e5889d2c0104811403038937320104816803078de58aa1e2809c01024b02069d9138e4b8aa0104816c0305a52ce5908c0102170406e4babae591980104811b02089fa5e38081e5aea30102460406e5a496e69da5010481190206a0bc2ce980890102320406e59198e380820104820c0703e4bbac0102690703e58c8501023c0703e7bb870102060703e8a2ab010482040802afb40104814d0406e899bde5b08f010481530404e995bf2c0104817c0208a8aae59091e588b00102570206aca12ce58f91010481240404e380820a010481430206b2bbe790862c0102240208b4bbe789a9e8b5840104813c0303be31300102350109e782b9e4babae7bea401048104020689a9e8b584380104813d02088bace5b185e8808101048108020690862ce68a8a0102250406e58fb0e8b4a60102760208949fe6b4bbe789a90104813b020896abe68385e998b201060a8158020899bde5a4a9e585a501026c02089a84e5859ae7bb84010481710406e998b2e68ea701026002089d80e58d83e5aeb6010481580208a4bee58cbae79a840104816f0208a780e7bd91e6a0bc0104820a0208ad89e4bfa1e681af0104810c0208bab5e59091e588b001025c0208bb84e7bb87e4b9a601048173030787e4b9a6e8aeb0010481740406e5af86e796ab01020803059ce380820a0102640206bd91e2809d0a0102110404e6a0bc2c0102310703e59198010c05382f66390a0703e899bd010481520703e995bf0104817b0406e7bb9ce380820102630208bea4e4bc97e4bba3010481340406e5928ce78bac010481060109e88081e4babae7ad890104810a020487b331310104811102088dafe59381e5928c01048138020699bde5b08f2c010481540208a2abe8af84e4b8ba010482060208aeb0e5b8a6e5a4b4010481760305bf2ce6999a0102710208af84e4b8bae4bc98010482070305b43ae2809c0104814f0206b4a62ce585a80102780307ade88dafe59381010481370204b58438300104813e0404e69699320104812a0305b0e8aebf2c0102700208beb9e38081e7bab501025a0208bf94e4b9a1e4baba01027e03079ee79d80e58d83010481570107e98089e6b4be310102340208878de782b9e4baba0104810302089587e4b880e4bd8d010481490303bf2c310104817d020898b2e68ea7e2809c01020c0703e4b8ad010481620703e7bd9101026102089a86e58aa1e995870104814702089da2e68e8ce68fa101027b0208a286e59fbae5b182010221040a090b0b0c090b0b080a0b0a0b0a0b0a0c0b0b0c070c09080809070a0c090c09090a090b0d090b090c0d0d0e090c0a090c0e0b0b0c090c0c0f0b0b0c0c0c0c0a0c0a0b080c0d0d0d0a0a090a0c0b0d080c0d0a0c0d0b0e0d0c0c0b0c0d0c0e0e0d0c0c0c090b0d0b0c0b0a0a0b0b0b0d0c0d0d0d0e0d0a0a0b0e0a0e0e0c080a0c0b0b0b0c090e0b0e0e0d0d0e0c0d0d090d0d0c0d0d0e0d0d0d0d0d0c0d0f0f0d0b0d0b0b0d0e0d0d0c090c0a0b0d0e0d0a0d0c090c0c0a0c0d0c0b0c08080809080c0a0d0c0a0b0e080f0c0e0b0b0e0f0d0e0b0e0e0e0e0d0e0d0b0a0b090d09090b0e0c0f0a0e0c0e0e0a0e0b0b0d0a0a0a0d0d0d0c0e0e090d09080e0d');
CREATE TABLE IF NOT EXISTS 'record_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
INSERT INTO record_fts_idx VALUES(1,X'',2);
CREATE TABLE IF NOT EXISTS 'record_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);
INSERT INTO record_fts_docsize VALUES(1,X'820b');
CREATE TABLE IF NOT EXISTS 'record_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;
INSERT INTO record_fts_config VALUES('version',4);
CREATE INDEX changes_by_field ON changes(kind, entity, field, sup_origin, sup_seq);
CREATE INDEX changes_by_time ON changes(ms, ctr, origin);
CREATE INDEX annotations_by_record ON annotations(record);
CREATE INDEX annotations_by_code ON annotations(code);
CREATE INDEX conflicts_by_time ON conflicts(ms);
PRAGMA writable_schema=OFF;
COMMIT;
PRAGMA application_id=1297237838;
PRAGMA user_version=1;
