"""Valid definitions shaped like real ML pipelines (SageMaker integrations, Dockyard
resources), for the validation tests."""

from __future__ import annotations

from typing import Any

SAGEMAKER = "arn:aws:states:::sagemaker"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"

TRAIN_EVALUATE_REGISTER: dict[str, Any] = {
    "Comment": "Train, evaluate, register the model when it is good enough",
    "StartAt": "Train",
    "TimeoutSeconds": 86400,
    "States": {
        "Train": {
            "Type": "Task",
            "Resource": f"{SAGEMAKER}:createTrainingJob.sync",
            "Parameters": {
                "TrainingJobName.$": "States.Format('churn-{}', $$.Execution.Name)",
                "RoleArn": ROLE,
                "AlgorithmSpecification": {
                    "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1",
                    "TrainingInputMode": "File",
                },
                "HyperParameters": {"max_depth.$": "States.JsonToString($.depth)"},
                "InputDataConfig": [
                    {
                        "ChannelName": "train",
                        "DataSource": {
                            "S3DataSource": {
                                "S3DataType": "S3Prefix",
                                "S3Uri.$": "$.data.train",
                            }
                        },
                    }
                ],
                "OutputDataConfig": {"S3OutputPath.$": "$.output"},
                "ResourceConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.xlarge",
                    "VolumeSizeInGB": 30,
                },
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            },
            "ResultSelector": {"ModelArtifacts.$": "$.ModelArtifacts.S3ModelArtifacts"},
            "ResultPath": "$.training",
            "TimeoutSeconds": 7200,
            "HeartbeatSeconds": 600,
            "Retry": [
                {
                    "ErrorEquals": ["SageMaker.AmazonSageMakerException"],
                    "IntervalSeconds": 5,
                    "MaxAttempts": 3,
                    "BackoffRate": 2.0,
                    "MaxDelaySeconds": 60,
                    "JitterStrategy": "FULL",
                },
                {"ErrorEquals": ["States.ALL"], "MaxAttempts": 1},
            ],
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "TrainingFailed"}
            ],
            "Next": "Evaluate",
        },
        "Evaluate": {
            "Type": "Task",
            "Resource": f"{SAGEMAKER}:createProcessingJob.sync",
            "Parameters": {
                "ProcessingJobName.$": "States.Format('eval-{}', States.UUID())",
                "RoleArn": ROLE,
                "AppSpecification": {"ImageUri": "evaluator:latest"},
                "ProcessingResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                        "VolumeSizeInGB": 10,
                    }
                },
            },
            "ResultPath": "$.evaluation",
            "Next": "GoodEnough",
        },
        "GoodEnough": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.evaluation.auc", "IsPresent": True},
                        {"Variable": "$.evaluation.auc", "NumericGreaterThanEquals": 0.8},
                        {"Not": {"Variable": "$.stage", "StringEquals": "skip"}},
                    ],
                    "Next": "CreateModel",
                },
                {
                    "Variable": "$.evaluation.auc",
                    "NumericGreaterThanPath": "$.baseline",
                    "Next": "CreateModel",
                },
                {"Variable": "$$.Execution.Name", "StringMatches": "manual-*", "Next": "Review"},
            ],
            "Default": "NotGoodEnough",
        },
        "Review": {"Type": "Wait", "SecondsPath": "$.reviewDelay", "Next": "CreateModel"},
        "CreateModel": {
            "Type": "Task",
            "Resource": f"{SAGEMAKER}:createModel",
            "Parameters": {
                "ModelName.$": "$$.Execution.Name",
                "ExecutionRoleArn": ROLE,
                "PrimaryContainer": {"ModelDataUrl.$": "$.training.ModelArtifacts"},
            },
            "ResultPath": None,
            "End": True,
        },
        "NotGoodEnough": {"Type": "Fail", "Error": "ModelRejected", "Cause": "AUC below 0.8"},
        "TrainingFailed": {
            "Type": "Fail",
            "ErrorPath": "$.error.Error",
            "CausePath": "States.Format('training failed: {}', $.error.Cause)",
        },
    },
}

HYPERPARAMETER_SWEEP: dict[str, Any] = {
    "StartAt": "Grid",
    "States": {
        "Grid": {
            "Type": "Pass",
            "Parameters": {"depths.$": "States.ArrayRange(2, 10, 2)", "base.$": "$"},
            "Next": "Sweep",
        },
        "Sweep": {
            "Type": "Map",
            "ItemsPath": "$.depths",
            "MaxConcurrency": 4,
            "ItemSelector": {"depth.$": "$$.Map.Item.Value", "output.$": "$.base.output"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "TrainOne",
                "States": {
                    "TrainOne": {
                        "Type": "Task",
                        "Resource": f"{SAGEMAKER}:createTrainingJob.sync",
                        "Parameters": {
                            "TrainingJobName.$": "States.Format('sweep-{}', States.UUID())",
                            "HyperParameters": {"max_depth.$": "States.Format('{}', $.depth)"},
                        },
                        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2}],
                        "End": True,
                    }
                },
            },
            "ResultSelector": {"count.$": "States.ArrayLength($)"},
            "ResultPath": "$.sweep",
            "Next": "Summarise",
        },
        "Summarise": {
            "Type": "Pass",
            "Result": {"done": True},
            "ResultPath": "$.summary",
            "OutputPath": "$.summary",
            "End": True,
        },
    },
}

BATCH_SCORING: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Transform",
                    "States": {
                        "Transform": {
                            "Type": "Task",
                            "Resource": f"{SAGEMAKER}:createTransformJob.sync",
                            "Parameters": {
                                "TransformJobName.$": "$$.Execution.Name",
                                "ModelName.$": "$.model",
                            },
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Features",
                    "States": {
                        "Features": {
                            "Type": "Task",
                            "Resource": "dockyard:job.sync",
                            "Parameters": {"kind": "script", "args.$": "States.Array($.date)"},
                            "Next": "Settle",
                        },
                        "Settle": {"Type": "Wait", "Seconds": 30, "End": True},
                    },
                },
            ],
            "ResultPath": "$.prepared",
            "Retry": [{"ErrorEquals": ["States.BranchFailed"], "MaxAttempts": 1}],
            "Next": "WaitUntil",
        },
        "WaitUntil": {"Type": "Wait", "Timestamp": "2026-03-14T01:59:00Z", "Next": "Approve"},
        "Approve": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {
                "QueueUrl": "https://sqs/q",
                "MessageBody": {"token.$": "$$.Task.Token"},
            },
            "HeartbeatSeconds": 3600,
            "TimeoutSecondsPath": "$.approvalTimeout",
            "Next": "Done",
        },
        "Done": {"Type": "Succeed", "OutputPath": "$.prepared"},
    },
}

JSONATA_PIPELINE: dict[str, Any] = {
    "QueryLanguage": "JSONata",
    "StartAt": "Train",
    "States": {
        "Train": {
            "Type": "Task",
            "Resource": f"{SAGEMAKER}:createTrainingJob.sync",
            "Arguments": {
                "TrainingJobName": "{% 'churn-' & $states.context.Execution.Name %}",
                "HyperParameters": {"eta": "{% $string($states.input.eta) %}"},
            },
            "Assign": {"modelArtifacts": "{% $states.result.ModelArtifacts.S3ModelArtifacts %}"},
            "Output": "{% $states.result %}",
            "TimeoutSeconds": "{% $states.input.timeout %}",
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Output": "{% $states.errorOutput %}",
                    "Next": "Failed",
                }
            ],
            "Next": "Check",
        },
        "Check": {
            "Type": "Choice",
            "Choices": [
                {
                    "Condition": "{% $states.input.FinalMetricDataList[0].Value > 0.8 %}",
                    "Assign": {"approved": True},
                    "Next": "Score",
                }
            ],
            "Default": "Failed",
        },
        "Score": {
            "Type": "Map",
            "Items": "{% $partition($states.input.rows, 100) %}",
            "MaxConcurrency": 8,
            "ItemProcessor": {
                "StartAt": "ScoreBatch",
                "States": {
                    "ScoreBatch": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::sagemaker:invokeEndpoint",
                        "Arguments": {
                            "EndpointName": "churn",
                            "Body": "{% $states.input %}",
                        },
                        "End": True,
                    }
                },
            },
            "Output": {"scored": "{% $count($states.result) %}", "model": "{% $modelArtifacts %}"},
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": "{% $states.input.pause %}", "Next": "Done"},
        "Done": {"Type": "Succeed", "Output": "{% $states.input %}"},
        "Failed": {"Type": "Fail", "Error": "Rejected", "Cause": "{% $string($states.input) %}"},
    },
}

DISTRIBUTED_INFERENCE: dict[str, Any] = {
    "StartAt": "ScoreAll",
    "States": {
        "ScoreAll": {
            "Type": "Map",
            "Label": "ScoreAll",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket": "features", "Prefix.$": "$.prefix"},
            },
            "ItemBatcher": {"MaxItemsPerBatch": 50, "BatchInput": {"model.$": "$.model"}},
            "ToleratedFailurePercentage": 5,
            "MaxConcurrency": 100,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Predict",
                "States": {
                    "Predict": {
                        "Type": "Task",
                        "Resource": "dockyard:predict",
                        "Parameters": {"items.$": "$.Items", "model.$": "$.BatchInput.model"},
                        "End": True,
                    }
                },
            },
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "results", "Prefix": "scores"},
            },
            "End": True,
        }
    },
}

MIXED_LANGUAGES: dict[str, Any] = {
    "StartAt": "Load",
    "States": {
        "Load": {
            "Type": "Pass",
            "Parameters": {"rows.$": "$.rows"},
            "Assign": {"count.$": "States.ArrayLength($.rows)", "stage": "load"},
            "Next": "Filter",
        },
        "Filter": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": "{% $states.input.rows[$ > 0] %}",
            "Next": "End",
        },
        "End": {"Type": "Succeed"},
    },
}

VALID = {
    "train_evaluate_register": TRAIN_EVALUATE_REGISTER,
    "hyperparameter_sweep": HYPERPARAMETER_SWEEP,
    "batch_scoring": BATCH_SCORING,
    "jsonata_pipeline": JSONATA_PIPELINE,
    "distributed_inference": DISTRIBUTED_INFERENCE,
    "mixed_languages": MIXED_LANGUAGES,
}
