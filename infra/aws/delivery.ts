import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as origins from "aws-cdk-lib/aws-cloudfront-origins";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { KEY_PATTERNS } from "./stage-plan.ts";

export interface DeliveryProps {
  bucket: s3.Bucket;
}

/**
 * Playback over HTTPS: CloudFront in front of the bucket, allowed to read only what a viewer may
 * fetch (videos/<id>/hls/…), never the uploads, job records or work files.
 */
export class Delivery extends Construct {
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: DeliveryProps) {
    super(scope, id);
    const { bucket } = props;
    // The origin sees the bucket through an imported reference, so CDK does not add its default
    // read-everything statement; the scoped statement below is the only one.
    const view = s3.Bucket.fromBucketAttributes(this, "PlaybackView", {
      bucketArn: bucket.bucketArn,
      bucketRegionalDomainName: bucket.bucketRegionalDomainName,
    });
    this.distribution = new cloudfront.Distribution(this, "Distribution", {
      comment: "vodpipe playback",
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(view),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        // hls.js in a page on another origin fetches playlists and segments with CORS.
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.CORS_ALLOW_ALL_ORIGINS,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
    });
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ["s3:GetObject"],
        principals: [new iam.ServicePrincipal("cloudfront.amazonaws.com")],
        resources: [bucket.arnForObjects(KEY_PATTERNS.hls)],
        conditions: { StringEquals: { "AWS:SourceArn": this.distribution.distributionArn } },
      }),
    );
  }
}
