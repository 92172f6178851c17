DROP TABLE referee_cases;
DROP TABLE referee_agents;
