"""What the lesson notebooks compute and draw, one module per lesson.

| notebook | module |
| --- | --- |
| ``01_software_vs_ml_cicd`` | :mod:`mlcicd.lessons.software_vs_ml` |
| ``02_data_validation`` | :mod:`mlcicd.lessons.data_validation` |
| ``03_training_and_quality_gate`` | :mod:`mlcicd.lessons.quality_gate` |
| ``04_deployment_and_rollback`` | :mod:`mlcicd.lessons.deployment` |
| ``05_monitoring_drift_retraining`` | :mod:`mlcicd.lessons.monitoring` |
| ``06_performance_analysis`` | :mod:`mlcicd.lessons.performance` |
| ``07_what_drives_the_cost`` | :mod:`mlcicd.lessons.cost_drivers` |
| ``08_putting_it_together`` | :mod:`mlcicd.lessons.workflow` |
| ``09_testing_ml_models`` | :mod:`mlcicd.lessons.model_tests` |
| ``10_shipping_models_safely`` | :mod:`mlcicd.lessons.safe_release` |

:mod:`mlcicd.lessons._common` holds the helpers more than one lesson uses.
"""
