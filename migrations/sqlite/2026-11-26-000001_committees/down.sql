DROP TABLE committees;
