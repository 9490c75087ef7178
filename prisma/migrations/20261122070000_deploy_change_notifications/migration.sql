-- Every dashboard replica follows deploy changes through LISTEN rather than
-- by re-reading every site each second. The payload is the site's id; NOTIFY
-- is delivered at commit, and repeats within one transaction are merged.

-- CreateFunction
CREATE FUNCTION "pagoda_notify_deploy_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('pagoda_deploy_changed', OLD."siteId");
  ELSE
    PERFORM pg_notify('pagoda_deploy_changed', NEW."siteId");
  END IF;
  RETURN NULL;
END
$$;

-- CreateFunction
CREATE FUNCTION "pagoda_notify_site_target_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('pagoda_deploy_changed', NEW."id");
  RETURN NULL;
END
$$;

-- CreateTrigger
CREATE TRIGGER "Deploy_notify_changed" AFTER INSERT OR UPDATE OR DELETE ON "Deploy"
  FOR EACH ROW EXECUTE FUNCTION "pagoda_notify_deploy_changed"();

-- CreateTrigger: promotion and rollback change the target without touching a deploy row.
CREATE TRIGGER "Site_notify_target_changed" AFTER UPDATE OF "targetDeployId" ON "Site"
  FOR EACH ROW WHEN (OLD."targetDeployId" IS DISTINCT FROM NEW."targetDeployId")
  EXECUTE FUNCTION "pagoda_notify_site_target_changed"();
