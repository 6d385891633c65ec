-- jirasync's state store gets its own database beside Airflow's metadata.
CREATE DATABASE jirasync OWNER airflow;
